"""Safe ``.npz`` files: written atomically with deterministic bytes, read without ever unpickling.

The model file (``modelfile``) is one such archive; this module knows nothing of what it holds.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import stat
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np

from lstmcli.errors import LstmcliError, ModelFileError
from lstmcli.files import MAX_INPUT_BYTES, kind_of, open_regular, size_text

__all__ = ["atomic_write_bytes", "check_writable", "npz_bytes", "open_archive", "write_archive"]

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry dates: identical models give identical bytes
_MAX_ENTRY_BYTES = 1 << 31  # nothing in a model file is near 2 GiB; refuse before reading more
# What the entries read may hold in all, uncompressed: 64 times the file, at least 64 MiB. lstmcli writes
# its archives uncompressed (1:1), and a model re-packed with compression (np.savez_compressed) shrinks
# float weights hardly at all and its JSON and NaN-padded residuals some 10-20 times; deflate, though,
# reaches 1000:1, so a few-MB bomb could ask for gigabytes. 64x bounds what a file can cost to open by
# its own size (a 3 MB file: under 200 MB) while leaving any honest re-packing room.
_EXPANSION = 64
_MIN_TOTAL_BYTES = 64 << 20


# ---------------------------------------------------------------------------------------------- writing
def check_writable(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` replaces; a clear error now if that cannot work (before, say, a
    long training run).

    That file is ``path`` itself, or, when ``path`` is a symbolic link, the file the link leads to (the
    link stays a link). Only regular files (or new ones) are written: a device, a named pipe or a link
    to one (``/dev/null``, ``/dev/stdout``, ``/proc/self/fd/1``) is refused, since the write replaces a
    whole file at once and would otherwise put a regular file in place of the special one.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows symbolic links
    except FileNotFoundError:
        mode = None  # a new file, or a link to one
    except OSError as e:
        raise LstmcliError(f"{path}: cannot be written ({e.strerror or e})") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise LstmcliError(f"{path}: is a directory; give a file name such as {path / 'model.npz'}")
    if mode is not None and not stat.S_ISREG(mode):
        raise LstmcliError(
            f"{path}: is {kind_of(mode)}; lstmcli writes only regular files (it replaces the whole file)"
        )
    if mode is not None:
        _refuse_own_stream(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise LstmcliError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        why = "read-only file system" if _read_only(folder) else "permission denied"
        raise LstmcliError(f"{path}: cannot write in folder {folder} ({why})")
    return target


def _refuse_own_stream(path: Path) -> None:
    """A file this process's standard output or error is redirected to (``-o /dev/stdout > log``, or
    the log's own name) is refused: replacing it would throw away what the shell wrote there before
    and what the command writes after."""
    target = os.stat(path)
    for fd, stream in ((1, "standard output"), (2, "standard error")):
        try:
            if os.path.samestat(target, os.fstat(fd)):
                raise LstmcliError(
                    f"{path}: is where this command's {stream} goes; replacing it would lose what is written "
                    "there; leave out the output file and use --format csv or json"
                )
        except OSError:
            continue


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


class _Terminated(BaseException):
    """SIGTERM or SIGHUP while a temporary file exists: raised so that the file is removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _cleanup_on_termination() -> Iterator[Callable[[], None]]:
    """SIGTERM and SIGHUP that would end the process at once are held while the body runs, as Ctrl-C's
    KeyboardInterrupt is: the body calls the function it is given once its temporary file is known
    (inside the ``try`` that removes it), and from then on such a signal raises there. A signal that came
    before is raised at that call. Afterwards the process ends by the signal, as it would have.
    Signals someone else handles or ignores (``nohup``) are left alone."""
    armed = False
    pending: list[int] = []

    def handler(signum: int, frame: object) -> None:
        pending.append(signum)
        if armed:
            raise _Terminated(signum)

    def arm() -> None:
        nonlocal armed
        armed = True
        if pending:
            raise _Terminated(pending[0])

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
                previous[signum] = signal.signal(signum, handler)
    try:
        yield arm
    except _Terminated:
        pass
    finally:
        armed = False
        for signum, old in previous.items():
            signal.signal(signum, old)
        if pending:
            signal.raise_signal(pending[0])  # the default action: the process ends by this signal


def atomic_write_bytes(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that ``path`` is either the old file or the complete new one.

    The bytes go to a temporary file in the same folder (same filesystem, so the rename is atomic),
    are flushed to disk, then renamed over ``path`` (or over the file a symbolic link ``path`` leads
    to: ``check_writable``). On any failure the temporary file is removed and the old file is
    untouched. Two writers racing for one path each rename a complete file: the last one wins,
    nothing is mixed.
    """
    path = Path(path)
    target = check_writable(path)
    with _cleanup_on_termination() as arm:
        _write_via_temporary(path, target, payload, arm)


def _write_via_temporary(path: Path, target: Path, payload: bytes, arm: Callable[[], None]) -> None:
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise LstmcliError(f"{path}: cannot write in {folder}: {e.strerror or e}") from None
    try:
        arm()  # SIGTERM or SIGHUP from here on raises, and the temporary file is removed below
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as e:  # includes KeyboardInterrupt: never leave the temporary file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise LstmcliError(
                f"{path}: could not be written ({e.strerror or e}); the previous file is intact"
            ) from None
        raise


def write_archive(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], limits: dict[str, int], hint: str = ""
) -> None:
    """``npz_bytes`` then ``atomic_write_bytes``, refusing (nothing written, the old file intact) an
    archive that ``open_archive`` would refuse to read back: an entry over its limit in ``limits``
    (key -> bytes, as ``open_archive`` takes them) or a file over ``MAX_INPUT_BYTES``. ``hint`` ends
    the message (what to do instead). Only a model (or a new file) is replaced (``check_model_target``:
    ``save`` from Python too)."""
    check_model_target(path)
    payload = npz_bytes(arrays, limits, f"{path}: not written: ", hint)
    if len(payload) > MAX_INPUT_BYTES:
        raise LstmcliError(
            f"{path}: not written: the file would be {size_text(len(payload))}, more than the "
            f"{size_text(MAX_INPUT_BYTES)} lstmcli reads back{hint}"
        )
    atomic_write_bytes(path, payload)


def npz_bytes(
    arrays: dict[str, np.ndarray], limits: dict[str, int] | None = None, prefix: str = "", hint: str = ""
) -> bytes:
    """An ``.npz`` archive of ``arrays`` (no pickles, fixed entry dates, deterministic bytes); an entry
    larger than its limit in ``limits`` (key -> bytes of its ``.npy``) is a ``LstmcliError``
    (``prefix`` + what + ``hint``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, array in arrays.items():
            array = np.asarray(array)
            if array.dtype.hasobject:
                raise ValueError(f"{name}: object arrays are never written")
            entry = io.BytesIO()
            # (not ascontiguousarray: it would turn the 0-d metadata string into shape (1,))
            np.lib.format.write_array(entry, np.require(array, requirements="C"), allow_pickle=False)
            size, limit = entry.tell(), (limits or {}).get(name)
            if limit is not None and size > limit:
                raise LstmcliError(
                    f"{prefix}its {name} would take {size_text(size)}, more than the {size_text(limit)} "
                    f"lstmcli reads back{hint}"
                )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            zf.writestr(info, entry.getvalue())
    return buf.getvalue()


def check_model_target(path: str | os.PathLike[str]) -> Path:
    """``check_writable`` for a model file, refusing also to replace an existing file that is not a
    model file (`train -m forecast.csv` replaced a forecast with a model, without a word): a model file
    is a zip archive, so any other file is someone's data."""
    target = check_writable(path)
    if target.is_file() and target.stat().st_size and not zipfile.is_zipfile(target):
        raise LstmcliError(
            f"{path}: exists and is not a model file; lstmcli writes models only over models: give another "
            "--model path"
        )
    return target


# ---------------------------------------------------------------------------------------------- reading
def open_archive(
    path: Path,
    wanted: Callable[[str], bool] = lambda key: True,
    limits: dict[str, int] | None = None,
    probe: bool = False,
) -> dict[str, np.ndarray]:
    """The entries of the archive that ``wanted`` names (key without ``.npy``), as arrays; the others are
    never decompressed, but their headers are read: a pickled (object) array anywhere refuses the file
    (``probe``: a look at one entry, which leaves the others unread). Refuses anything that is not a
    plain .npz, entries whose uncompressed sizes add up to more than the file can honestly hold
    (``_EXPANSION``), an entry larger than its own limit in ``limits`` (key -> bytes), and a ``.npy``
    header that disagrees with the size of its entry (which would otherwise ask for any amount of memory
    before a byte of data is read)."""
    name = path.name
    if not path.exists():  # the whole path: a wrong folder is as likely as a wrong name
        raise ModelFileError(f"{path}: no such model file; train one with `lstmcli train DATA.csv`")
    if path.is_dir():  # (the path as given: which folder, which device, is the point)
        raise ModelFileError(f"{path}: is a directory, not a model file")
    try:
        f = open_regular(path, str(path), "a model file", ModelFileError)
    except PermissionError:
        raise ModelFileError(f"{name}: permission denied (cannot read the model file)") from None
    except OSError as e:
        raise ModelFileError(f"{name}: cannot be read ({e.strerror or e})") from None
    with f:
        return _read_entries(f, name, wanted, limits or {}, probe)


def _read_entries(
    f: BinaryIO, name: str, wanted: Callable[[str], bool], limits: dict[str, int], probe: bool = False
) -> dict[str, np.ndarray]:
    head = f.read(4)
    if head != b"PK\x03\x04":
        what = "an empty file" if not head else "not a lstmcli model file (not an .npz archive)"
        raise ModelFileError(f"{name}: {what}")
    arrays: dict[str, np.ndarray] = {}
    try:
        budget = max(_MIN_TOTAL_BYTES, _EXPANSION * os.fstat(f.fileno()).st_size)
        with zipfile.ZipFile(f) as zf:
            entries = [i for i in zf.infolist() if i.filename.endswith(".npy")]
            infos = [i for i in entries if wanted(i.filename[:-4])]
            unread = [] if probe else [i for i in entries if not wanted(i.filename[:-4])]
            for info in infos:
                if info.file_size > min(_MAX_ENTRY_BYTES, limits.get(info.filename[:-4], _MAX_ENTRY_BYTES)):
                    raise ModelFileError(
                        f"{name}: entry {info.filename} is implausibly large ({info.file_size} bytes)"
                    )
            total = sum(i.file_size for i in infos)
            if total > budget:
                raise ModelFileError(
                    f"{name}: its entries would unpack to {total} bytes, more than {_EXPANSION} times the "
                    f"file's size; refusing a damaged or hostile archive"
                )
            for info in infos:
                key = info.filename[:-4]
                with zf.open(info) as entry:
                    _check_header(entry, info, name)
                with zf.open(info) as entry:
                    arrays[key] = np.lib.format.read_array(entry, allow_pickle=False)
            for info in unread:  # their headers only: none may be a pickled (object) array
                with zf.open(info) as entry:
                    if _npy_header(entry)[1].hasobject:
                        raise ModelFileError(
                            f"{name}: entry {info.filename} is a pickled object array; refusing to load it"
                        )
    except ModelFileError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise ModelFileError(f"{name}: contains a pickled object array; refusing to load it") from None
        raise ModelFileError(f"{name}: damaged archive entry ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError) as e:
        raise ModelFileError(f"{name}: damaged or truncated archive ({e})") from None
    return arrays


def _npy_header(entry: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a ``.npy`` entry's header declares (its data is not read); a ValueError for
    a header that is not one."""
    fmt = np.lib.format
    version = fmt.read_magic(entry)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(entry)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = fmt.read_array_header_2_0(entry)
    else:
        raise ValueError(f"unknown .npy version {version}")
    return shape, dtype


def _check_header(entry: IO[bytes], info: zipfile.ZipInfo, name: str) -> None:
    """The ``.npy`` header's shape and dtype must describe exactly the bytes the entry holds."""
    try:
        shape, dtype = _npy_header(entry)
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise
        raise ModelFileError(f"{name}: damaged archive entry {info.filename} ({e})") from None
    if dtype.hasobject:
        return  # read_array refuses it, saying so
    header = entry.tell() if entry.seekable() else None
    count = 1
    for n in shape:
        count *= int(n)
    claimed = count * dtype.itemsize
    if header is None or header + claimed != info.file_size:
        raise ModelFileError(
            f"{name}: damaged archive entry {info.filename} (its header claims {claimed} bytes of data, "
            f"the entry holds {info.file_size - (header or 0)})"
        )
