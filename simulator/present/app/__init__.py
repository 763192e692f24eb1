"""The classroom web app (``supplysim app``): a live trade-off explorer and a class challenge.

An optional extra (``pip install 'supplysim[app]'``): only :mod:`.application` and
:mod:`.serve` import Shiny; the settings (:mod:`.params`), the simulation cache
(:mod:`.simulations`), the plain-language readings (:mod:`.reading`), the challenge's
rounds and leaderboard (:mod:`.challenge`) and the charts (:mod:`.charts`) are plain
Python, tested without a browser. See docs/app.md.
"""

__all__: list[str] = []
