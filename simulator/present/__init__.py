"""Presentation: charts and the HTML report."""
