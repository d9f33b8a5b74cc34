"""Input files as lstmcli reads them: regular files only, read with a bound.

A data CSV, a ``--data`` file or a model file that is a device (``/dev/zero``), a named pipe with no
writer, a socket or a directory is refused with one line saying what it is, before anything is read
or blocks; a regular file larger than ``MAX_INPUT_BYTES`` is refused too (checked against its size, and
again while reading, for files whose size says nothing, such as those of ``/proc``). Callers keep their
own wording for missing and unreadable files: this module lets those ``OSError``s through.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from lstmcli.errors import LstmcliError

__all__ = ["MAX_INPUT_BYTES", "kind_of", "open_regular", "read_bounded", "same_file", "size_text"]

# Far beyond any series an LSTM in NumPy trains on (a million hourly rows is about 30 MB of CSV) and
# any model file (a few MB), yet small enough that reading one cannot exhaust a machine's memory.
MAX_INPUT_BYTES = 1 << 30

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words ("a regular file", "a character device", ...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((what for test, what in _KINDS if test(mode)), "a special file")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name one existing file, through symbolic and hard links alike."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def size_text(n: int) -> str:
    """A byte count in binary units: 1 GiB, 1.5 MiB, 300 bytes."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def open_regular(
    path: str | os.PathLike[str], shown: str, what: str, error: type[LstmcliError], limit: int | None = None
) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file of at most ``limit`` bytes (default
    ``MAX_INPUT_BYTES``); else raise ``error`` naming ``shown`` and what the file is. Never blocks on a
    named pipe. ``what`` names the expected file in the message: "a CSV file", "a model file"."""
    limit = MAX_INPUT_BYTES if limit is None else limit
    _check(os.stat(path), shown, what, error, limit)  # refuse special files before opening them
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        _check(os.fstat(fd), shown, what, error, limit)  # the file opened is the file checked
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_bounded(
    f: BinaryIO, shown: str, what: str, error: type[LstmcliError], limit: int | None = None
) -> bytes:
    """All of ``f``, or ``error`` once more than ``limit`` bytes (default ``MAX_INPUT_BYTES``) come."""
    limit = MAX_INPUT_BYTES if limit is None else limit
    data = f.read(limit + 1)
    if len(data) > limit:
        raise error(_too_large(shown, what, limit))
    return data


def _check(st: os.stat_result, shown: str, what: str, error: type[LstmcliError], limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{shown}: is {kind_of(st.st_mode)}, not {what} (lstmcli reads regular files only)")
    if st.st_size > limit:
        raise error(_too_large(shown, what, limit, st.st_size))


def _too_large(shown: str, what: str, limit: int, size: int | None = None) -> str:
    found = f"this one has {size:,} bytes" if size is not None else "this one is larger"
    return f"{shown}: lstmcli reads {what.split(' ', 1)[1]}s of at most {size_text(limit)}; {found}"
