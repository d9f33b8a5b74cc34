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
from lstmcli.errors import LstmcliError

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


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` as one line on stderr; return the Exit(1) for the caller to raise."""
    sys.stderr.write(f"error: {text.printable(' '.join(str(message).split()))}\n")
    return typer.Exit(code=1)


def print_notes(console: Console, notes: Sequence[str]) -> None:
    """The loader's notes, one line each (``note:`` dimmed; what they quote shown as text)."""
    for note in notes:
        console.print(text.styled(("note:", "dim"), " " + text.printable(note)))


def warn(message: str) -> None:
    """Print ``warning: message`` as one line on stderr."""
    sys.stderr.write(f"warning: {text.printable(message)}\n")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn lstmcli's own errors into one line on stderr and exit code 1 (never a traceback).

    NumPy's floating-point warnings are silenced here: overflow in a diverging training run is detected
    and reported by lstmcli itself, in words, and a raw RuntimeWarning would only add noise.
    """
    import numpy as np

    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            yield
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


def parse_features(value: str | None) -> str | list[str] | None:
    if value is None or value == "":
        return None
    if value.strip().lower() == "all":
        return "all"
    return [v.strip() for v in value.split(",") if v.strip()]
