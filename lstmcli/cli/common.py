"""What every command shares: error translation, consoles, output formats, atomic text output."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lstmcli.cli import text
from lstmcli.errors import LstmcliError, OptionError

if TYPE_CHECKING:
    from rich.console import Console


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class TrainFormat(str, Enum):
    table = "table"
    json = "json"


def stdout_console() -> Console:
    """The console for results; it shows every string as text (``text.console``)."""
    return text.console()


def stderr_console() -> Console:
    """The console for notes and progress; it shows every string as text (``text.console``)."""
    return text.console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` as one line on stderr; return the Exit (1; 2 for a usage error: options
    no data could make right) for the caller to raise."""
    sys.stderr.write(f"error: {text.printable(' '.join(str(message).split()))}\n")
    return typer.Exit(code=code)


def print_notes(console: Console, notes: Sequence[str]) -> None:
    """The loader's notes, one line each (``note:`` dimmed; what they quote shown as text): wrapped to
    a terminal's width, a whole line each in a log or a pipe (as errors and warnings are)."""
    for note in notes:
        console.print(
            text.styled(("note:", "dim"), " " + text.printable(note)), soft_wrap=not console.is_terminal
        )


def warn(message: str) -> None:
    """Print ``warning: message`` as one line on stderr."""
    sys.stderr.write(f"warning: {text.printable(message)}\n")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn lstmcli's own errors into one line on stderr and exit code 1, 2 for a bad option's value
    (never a traceback).

    NumPy's floating-point warnings are silenced here: overflow in a diverging training run is detected
    and reported by lstmcli itself, in words, and a raw RuntimeWarning would only add noise.
    """
    import numpy as np

    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            yield
    except OptionError as e:  # a bad option's value: a usage error, as Typer's own checks exit
        fail(str(e))
        raise typer.Exit(code=2) from None
    except LstmcliError as e:
        raise fail(str(e)) from None
    except MemoryError:
        raise fail("out of memory; try a smaller --batch-size, --hidden or --lookback") from None


def write_text_output(path: Path, text: str) -> None:
    """Write an output file atomically: a failure never leaves a half-written file in its place."""
    from lstmcli.npzfile import atomic_write_bytes

    atomic_write_bytes(path, text.encode("utf-8"))


def refuse_to_replace_inputs(output: Path | None, option: str, inputs: dict[str, Path | None]) -> None:
    """An output file that is one of the command's inputs (also through a symbolic or hard link) is
    refused before any work: writing it would replace the input."""
    from lstmcli.errors import ConfigError
    from lstmcli.files import same_file

    for name, path in inputs.items():
        if output is not None and path is not None and same_file(output, path):
            raise ConfigError(
                f"{option} {output} is the file given as {name} ({path}); writing there would replace it, "
                "so choose another file name"
            )


# What compiling the engine's loops costs on a cold cache (the first run after an install), rounded up
# from benchmarks/RESULTS.md ("First run"): every loop, shared with the workers' server (train,
# backtest), or the forward loop only (a panel's series in inspect). predict and inspect of one series
# compile nothing: NumPy runs them.
COMPILE_SECONDS = {"train": 2, "forecast": 2}
NOTICE_AFTER = 1.0  # seconds: a warm cache loads well within this, so the notice means a compile


@contextlib.contextmanager
def first_run_notice(kind: str) -> Iterator[None]:
    """On a terminal, say "preparing the engine, once: ~N s" on stderr when the block (the first use
    of the compiled loops) is still running after a second: Numba is compiling them into its cache,
    which happens once after an install. Pipes and files never get the line."""
    if not sys.stderr.isatty():
        yield
        return
    import threading

    def notice() -> None:
        sys.stderr.write(f"preparing the engine, once: ~{COMPILE_SECONDS[kind]} s\n")
        sys.stderr.flush()

    timer = threading.Timer(NOTICE_AFTER, notice)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def start_workers(threads: int, scheduler: str | None) -> None:
    """Start the worker processes' server before the data is read, when training may use workers on
    this machine (``forecasting.early_workers``): it gets ready, and on the first run after an install
    compiles part of the engine's loops, while this process reads."""
    if scheduler is not None:
        return
    from lstmcli.engine.threads import cores_for

    if cores_for(threads) >= 2:
        from lstmcli.forecasting import early_workers

        early_workers.start()


def warm_engine() -> None:
    """Load (or, the first time, compile) the engine's loops before training starts, with the first-run
    notice, so that a progress bar never sits at 0 % while Numba compiles. When the workers' server was
    started early (``start_workers``), this process takes its share of the loops and the server the rest."""
    with first_run_notice("train"):
        from lstmcli.engine import kernels
        from lstmcli.forecasting import early_workers

        if early_workers.pending():
            early_workers.warm_up(early_workers.CALLER_SHARE)
            early_workers.release_pending()
        else:
            kernels.warm_up()


def plot_path(path: Path | None) -> Path | None:
    """Check a ``--plot FILE`` before any work: its extension names a format lstmcli draws, matplotlib
    is installed and the folder is writable; else one line on stderr and exit code 1 (2 for the
    extension)."""
    if path is None:
        return None
    from lstmcli.cli.plots import PlotError, check_plot_path, require_matplotlib
    from lstmcli.npzfile import check_writable

    try:
        check_plot_path(path)
    except PlotError as e:  # (an extension of no picture format: a usage error)
        raise fail(str(e), code=2) from None
    try:
        require_matplotlib()
        check_writable(path)
    except (PlotError, LstmcliError) as e:
        raise fail(str(e)) from None
    return path


def write_plot(fig: object, path: Path) -> None:
    """Render a figure of ``lstmcli.cli.plots`` to ``path`` (atomically), errors as one line."""
    from lstmcli.cli.plots import save_figure

    with user_errors():
        save_figure(fig, path)  # type: ignore[arg-type]


def level_values(values: list[float] | None) -> list[float]:
    """``--level`` values, sorted and unique, each from 1 to below 100; whole numbers as ints, so
    that ``--level 80`` still names the column ``lower_80`` and ``--level 99.5`` names ``lower_99.5``."""
    out: set[float] = set()
    for v in values or []:
        if not 1 <= v < 100:
            from lstmcli.forecasting.config import a_percent

            hint = f"; for {a_percent(100 * v)} interval give {100 * v:g}" if 0 < v < 1 else ""
            raise typer.BadParameter(
                f"{v:g} is not a percentage from 1 to below 100 (such as 80 or 99.5){hint}"
            )
        out.add(int(v) if float(v).is_integer() else float(v))
    return sorted(out)


def parse_features(value: str | None) -> str | list[str] | None:
    if value is None or value == "":
        return None
    if value.strip().lower() == "all":
        return "all"
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_columns(value: str | None, option: str) -> list[str] | None:
    """A comma-separated list of column names ('all' is not one)."""
    if value is None or not value.strip():
        return None
    if value.strip().lower() == "all":
        from lstmcli.errors import ConfigError

        raise ConfigError(f"{option} takes column names ('a,b'), not 'all'")
    return [v.strip() for v in value.split(",") if v.strip()]
