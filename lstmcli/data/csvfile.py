"""Reading a CSV file into a table of text cells: bytes, encoding, separator, header and blank lines.

Whatever pandas or the file system raise becomes a one-line DataError naming the file (and the line
when there is one); no cell is interpreted here beyond telling a header from a data row.
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings

import numpy as np
import pandas as pd

from lstmcli.data.cells import Table, to_numbers
from lstmcli.data.dates import parse_dates
from lstmcli.data.wording import fmt_lines, one_line, plural, show
from lstmcli.errors import DataError
from lstmcli.files import open_regular, read_bounded


def _read_bytes(path) -> tuple[str, bytes]:
    try:
        shown = os.fspath(path)
    except TypeError:  # (a DataFrame's repr would be many lines: its type is enough)
        shown = repr(path) if isinstance(path, (int, float)) or path is None else f"a {type(path).__name__}"
        raise DataError(f"{shown} is not a file name: give the path of a CSV or Parquet file") from None
    if isinstance(shown, bytes):
        shown = os.fsdecode(shown)
    if not shown:
        raise DataError("no input file given (empty file name)")
    try:
        st = os.stat(shown)
    except FileNotFoundError:
        raise DataError(f"{shown}: no such file") from None
    except NotADirectoryError:
        raise DataError(f"{shown}: no such file (a part of the path is not a directory)") from None
    except PermissionError:
        raise DataError(f"{shown}: permission denied (cannot reach the file)") from None
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{shown}: cannot be read ({one_line(getattr(exc, 'strerror', None) or exc)})"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{shown}: is a directory, not a CSV file")
    try:
        with open_regular(shown, shown, "a CSV file", DataError) as fh:
            raw = read_bounded(fh, shown, "a CSV file", DataError)
    except PermissionError:
        raise DataError(f"{shown}: permission denied (the file is not readable)") from None
    except OSError as exc:
        raise DataError(f"{shown}: cannot be read ({one_line(exc.strerror or exc)})") from None
    return shown, raw


_MAGIC = (
    (b"PK\x03\x04", "it looks like a zip or Excel .xlsx file; export it as CSV"),
    (b"\xd0\xcf\x11\xe0", "it looks like an old Excel .xls file; export it as CSV"),
    (b"\x1f\x8b", "it looks gzip-compressed; decompress it first"),
    (b"PAR1", "it looks like a Parquet file, which lstmcli reads as a file of many series, with --id-col"),
    (b"%PDF", "it looks like a PDF file"),
    (b"\x89PNG", "it looks like a PNG image"),
)


def _decode(path: str, raw: bytes, notes: list[str]) -> str:
    """Decode the file, refusing anything that is not text."""
    if not raw:
        raise DataError(f"{path}: is empty (0 bytes)")
    for magic, why in _MAGIC:
        if raw.startswith(magic):
            raise DataError(f"{path}: is not a text CSV ({why})")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(
                f"{path}: is not a text CSV (it starts like UTF-16 but cannot be decoded)"
            ) from None
        notes.append(f"{path} is UTF-16 text; it was decoded as such.")
    else:
        if b"\x00" in raw:
            raise DataError(f"{path}: is not a text CSV (it contains NUL bytes; is it a binary file?)")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            high = sum(b >= 0x80 for b in raw)
            if high > 0.3 * len(raw):
                raise DataError(
                    f"{path}: is not a text CSV (byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8)"
                ) from None
            # A few non-UTF-8 bytes in otherwise plain text: a Windows/Latin-1 export (e.g. a degree sign).
            text = raw.decode("cp1252", errors="replace") if b"\x81" not in raw else raw.decode("latin-1")
            notes.append(f"{path} is not valid UTF-8; it was read as Windows-1252/Latin-1 text.")
    text = text.rstrip("\x1a")  # DOS end-of-file marker
    bad = re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise DataError(
            f"{path}: is not a text CSV (control character 0x{ord(bad.group()):02x} on line {line})"
        )
    if not text.strip():
        raise DataError(f"{path}: is empty (only whitespace, no header)")
    return text


def _sniff_sep(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: (counts[s], s == ","))
    return best if counts[best] > 0 else ","


def read_table(path, *, parquet: bool = False) -> Table:
    """Read a CSV into stripped strings plus the file line number of each data row; with ``parquet``
    (the panel loaders) a Parquet file is read into the same cells (``parquetfile``, pyarrow)."""
    shown, raw = _read_bytes(path)
    if parquet and raw.startswith(b"PAR1"):
        from lstmcli.data.parquetfile import table_from_parquet

        return table_from_parquet(shown, raw)
    notes: list[str] = []
    text = _decode(shown, raw, notes)

    # Blank lines before the header would otherwise become an all-empty header row.
    body = text.lstrip("\r\n")
    lead = len(text[: len(text) - len(body)].splitlines())
    first_line = body.splitlines()[0] if body else ""
    sep = _sniff_sep(first_line)
    if sep != ",":
        notes.append(f"{shown} separates columns with {sep!r} instead of ','.")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # header=None: every row, header included, must fit the width of the header row, so a row
            # with extra fields is an error instead of pandas silently turning column 1 into an index.
            raw_df = pd.read_csv(
                io.StringIO(body),
                header=None,
                dtype=str,
                sep=sep,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
                quotechar='"',
            )
    except pd.errors.EmptyDataError:
        raise DataError(f"{shown}: is empty (no header)") from None
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            raise DataError(
                f"{shown} line {int(m.group(2)) + lead}: {m.group(3)} fields, but the header has {m.group(1)} columns"
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            raise DataError(
                f"{shown} line {int(m.group(1)) + 1 + lead}: a quoted field is never closed (unbalanced '\"')"
            ) from None
        raise DataError(f"{shown}: not a readable CSV ({one_line(msg.replace('C error: ', ''))})") from None
    except Exception as exc:  # pandas raises a variety of types for malformed input; none may escape
        raise DataError(f"{shown}: not a readable CSV ({one_line(exc)})") from None

    raw_df = raw_df.fillna("")  # na_filter=False still leaves NaN in short rows of some engines
    # Data rows start below the header; quoted cells with line breaks push later rows down.
    newlines = np.zeros(len(raw_df), dtype=np.int64)
    for c in raw_df.columns:
        col = raw_df[c].astype(str)
        if col.str.contains("\n", regex=False).any():
            newlines += col.str.count("\n").to_numpy(dtype=np.int64)
    starts = 1 + lead + np.arange(len(raw_df)) + np.concatenate([[0], np.cumsum(newlines)[:-1]])

    header = [str(h).strip() for h in raw_df.iloc[0].tolist()]
    names = []
    for k, h in enumerate(header):
        names.append(h if h else f"Unnamed: {k}")
    seen: dict[str, int] = {}
    for k, h in enumerate(names):
        if h in seen:
            raise DataError(
                f"{shown}: column name '{h}' appears twice in the header (columns {seen[h] + 1} and {k + 1}); "
                "column names must be unique"
            )
        seen[h] = k
    if all(not h for h in header) and len(header) > 1:
        raise DataError(f"{shown}: line {1 + lead} should be a header with column names but is empty")
    head = pd.Series(header, dtype=str)
    if (np.isfinite(to_numbers(head)) | parse_dates(head).ok).all():
        # Without a header pandas would quietly turn the first row into column names.
        raise DataError(
            f"{shown}: line {1 + lead} looks like data ({show(','.join(header))}), not a header; "
            "the first line must name the columns, e.g. date,value"
        )

    raw = raw_df.iloc[1:].reset_index(drop=True).astype(str)
    raw.columns = names
    df = raw.apply(lambda s: s.str.strip())
    unstripped = {c: raw[c] for c in names if not df[c].equals(raw[c])}
    lines = starts[1:]
    if len(df):
        empty = (df == "").all(axis=1).to_numpy()
        if empty.any():
            notes.append(f"Ignored {plural(int(empty.sum()), 'empty line')} ({fmt_lines(lines[empty], 3)}).")
            df = df.loc[~empty].reset_index(drop=True)
            unstripped = {c: v.loc[~empty].reset_index(drop=True) for c, v in unstripped.items()}
            lines = lines[~empty]
    if len(df) == 0:
        raise DataError(f"{shown}: has a header ({', '.join(names)}) but no data rows")
    return Table(shown, names, df, np.asarray(lines, dtype=np.int64), sep, notes, unstripped)
