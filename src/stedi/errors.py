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


class ChecksFailed(StediError):
    """An `error` check failed: nothing of the run was published. `result` is the run's RunResult."""

    def __init__(self, result: object) -> None:
        self.result = result
        failed = [c for c in getattr(result, "checks", []) if c.status == "fail"]
        listed = "; ".join(f"{c.table}: {c.description} ({c.detail})" for c in failed)
        super().__init__(
            f"{len(failed)} error check(s) failed, nothing was published (every table keeps its previous "
            f"snapshot; the checked tables are on branch stedi-audit): {listed}"
        )
