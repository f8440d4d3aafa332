"""The error type for a user's mistake."""


class UsageError(Exception):
    """A mistake in what the user gave us (a command-line argument, a config
    value, a file): mmattn's commands print its message once, as one short
    error, without a traceback, and exit with status 2. Real crashes are other
    exception types and keep their traceback."""


class CheckpointError(UsageError, ValueError):
    """A file that cannot be used as a checkpoint: missing, empty, cut off,
    not a checkpoint, refused because loading it would run code from it, or
    weights that do not fit the model they are meant for."""
