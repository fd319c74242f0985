"""Errors a user can act on: the CLI shows their message without a traceback."""


class StediError(Exception):
    """Base of the errors caused by input or settings rather than by a bug."""


class LandingError(StediError):
    """The landing area is missing or cannot be listed."""


class WarehouseError(StediError):
    """The warehouse or its catalog cannot be opened or is not a STEDI warehouse."""


class SettingsError(StediError):
    """A setting has a value the pipeline cannot use."""


class QueryError(StediError):
    """A query given to `stedi sql` is refused or fails."""


class PrivacyError(StediError):
    """A privacy invariant does not hold: the run publishes nothing of its trusted or curated tables."""


class StepError(StediError):
    """A step of a run failed; the message names it (the tables committed before it stand)."""


class BusyError(StediError):
    """Another run holds the warehouse."""
