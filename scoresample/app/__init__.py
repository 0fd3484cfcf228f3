"""The application layer: the ``scoresample`` command, TOML configs and their schema, the
experiment pipeline (train, sample, diagnose, run directory), the HTML report and the demo.

The library (everything outside this package) never imports it: the layer is built on the
public library alone, as a user's own scripts would be.
"""
