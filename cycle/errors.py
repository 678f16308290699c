"""One exception family whose messages say what went wrong and where."""


class RoundtableError(Exception):
    """Base of every error a person can cause and fix; the CLI shows it as one line."""


class ConfigError(RoundtableError):
    """The program file is unreadable or invalid (file, key path and line in the message)."""


class SettingsError(RoundtableError):
    """An environment variable has a bad value (the variable is named in the message)."""


class InputError(RoundtableError):
    """A command argument or request value is invalid."""


class NotFoundError(RoundtableError):
    """A cycle, item or deliverable that was asked for does not exist."""


class TransitionError(RoundtableError):
    """A deliverable or gate cannot move from its current state as asked."""


class StoreError(RoundtableError):
    """The store is missing, outdated or unreachable."""
