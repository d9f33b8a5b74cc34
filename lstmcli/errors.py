"""The errors lstmcli raises for problems a user can fix.

Core code raises these with a one-line message that names the file, column, row or option and says
what was expected; the CLI prints ``str(error)`` to stderr and exits 1 (2 for an ``OptionError``). Anything
else escaping is a bug.
"""


class LstmcliError(Exception):
    """Base class: a problem with the user's input, files or settings (exit code 1)."""


class DataError(LstmcliError):
    """A CSV or series that cannot be used as it is (missing column, bad cell, too short, ...)."""


class ValuesError(DataError):
    """Values a fitted transform cannot take (zeros or negatives under a log or power transform): a
    problem of one series' values, where a panel's other series may still be forecast."""


class ModelFileError(LstmcliError):
    """A model file that cannot be read, is damaged, or is not a lstmcli model."""


class ConfigError(LstmcliError):
    """Settings that contradict each other or the data (e.g. a lookback longer than the series)."""


class OptionError(ConfigError):
    """An option's value that no data could make right (an unknown transform, frequency alias or
    country, a setting of the wrong type or out of its range): a usage error, exit code 2 on the command
    line, as Typer's own checks of the options give."""


class TrainingError(LstmcliError):
    """Training that cannot produce a usable model (e.g. it diverged before the first good epoch)."""


class WorkersUnavailable(RuntimeError):
    """Worker processes cannot be started here (no semaphores in a sandbox, say): the work runs
    in-process instead. Not a user's error (never shown): the pools of ``members`` and ``executors``
    raise it alike, and their callers fall back on it."""
