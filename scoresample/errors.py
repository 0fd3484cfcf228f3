"""Errors a user can cause, each with a message that names the field and the fix.

Everything raised here is a :class:`ScoresampleError`; the command line turns it into
one line on stderr and exit status 2. Programming errors inside the library are
ordinary Python exceptions and keep their tracebacks.
"""

from __future__ import annotations


class ScoresampleError(Exception):
    """Base class for errors caused by user input (configuration, data, values)."""

    def __init__(self, field: str, problem: str, fix: str):
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}; {fix}")


class ConfigError(ScoresampleError, ValueError):
    """A configuration value is missing, of the wrong type or out of range."""


class DataError(ScoresampleError, ValueError):
    """Input data have the wrong shape, dtype or dimension, or cannot be read."""


class NonFiniteError(ScoresampleError, FloatingPointError):
    """A value that must be finite (data, loss, score, log density) is NaN or inf."""


class OutputError(ScoresampleError, OSError):
    """An output location cannot be written or would overwrite earlier results."""
