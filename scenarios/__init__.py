"""Built-in scenario files, usable by name (``supplysim run classroom``)."""
