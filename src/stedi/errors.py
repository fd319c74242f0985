"""Errors a user can act on: the CLI shows their message on one line, without a traceback, and
exits with the error's code (docs/operations.md lists them)."""

EXIT_ERROR = 1  # the data or the warehouse's state: something to fix or to run again
EXIT_USAGE = 2  # an argument, option or setting that cannot be used
EXIT_REFUSED = 3  # the shrink guard refused to publish (see --max-shrink, --allow-shrink)


class StediError(Exception):
    """Base of the errors caused by input, settings or state rather than by a bug."""

    exit_code = EXIT_ERROR


class UsageError(StediError):
    """An argument or option value that cannot be used."""

    exit_code = EXIT_USAGE


class SettingsError(UsageError):
    """A setting has a value the pipeline cannot use."""


class QueryError(UsageError):
    """A query given to `stedi sql` is refused or fails."""


class LandingError(StediError):
    """The landing area is missing or cannot be listed."""


class WarehouseError(StediError):
    """The warehouse or its catalog cannot be opened, is damaged, or is not a STEDI warehouse."""


class SubjectKeyError(StediError):
    """The subject key is missing, unusable, or not the key of this warehouse: nothing was written."""


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


class Refused(StediError):
    """The shrink guard stopped a run before publishing: it would lose much of a table's rows."""

    exit_code = EXIT_REFUSED

    def __init__(self, result: object, reasons: list[str]) -> None:
        self.result = result
        self.reasons = reasons
        super().__init__(
            "refused to publish, nothing was published: " + "; ".join(reasons) + ". If this is intended (a "
            "landing area emptied on purpose, a mass withdrawal of consent), run again with --allow-shrink"
        )
