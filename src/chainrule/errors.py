"""Errors that mean the user asked for something wrong (not a bug in chainrule).

The command line prints a :class:`UserError`'s message on one line and exits with code 2;
library callers catch the specific subclasses.
"""


class UserError(Exception):
    """A mistake in the input: a bad file, an unknown name, a value out of range."""


class DataError(UserError, ValueError):
    """A dataset or data file that cannot be used as given (names the file and line)."""


class ModelFileError(UserError, ValueError):
    """A model or checkpoint file that is missing, truncated or of another architecture."""
