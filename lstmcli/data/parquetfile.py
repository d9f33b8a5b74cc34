"""Parquet input for panels (``train``/``backtest --id-col`` on a ``.parquet`` file): the file becomes the
same text cells a CSV gives (``cells.Table``), so every rule of the CSV path (columns, numbers, dates,
ids, missing values) and every message applies unchanged. pyarrow is an optional extra (``parquet``),
imported only here, only when a Parquet file is given; a row's "line" in messages is its row number
counting the header as line 1, as in the CSV written from the same table.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from lstmcli.data.cells import Table
from lstmcli.data.wording import one_line
from lstmcli.errors import DataError

__all__ = ["table_from_parquet"]


def table_from_parquet(shown: str, raw: bytes) -> Table:
    """The cells of the Parquet file ``shown`` whose bytes are ``raw``; any problem is one DataError line."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"{shown}: reading Parquet needs pyarrow; install it with: pip install 'lstmcli[parquet]'"
        ) from None
    try:
        df = pq.read_table(io.BytesIO(raw)).to_pandas()
    except Exception as exc:  # pyarrow raises many types for a damaged file; none may escape
        raise DataError(f"{shown}: not a readable Parquet file ({one_line(exc)})") from None
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise DataError(f"{shown}: a column name appears twice; column names must be unique")
    if not len(df):
        raise DataError(f"{shown}: has columns ({', '.join(names)}) but no rows")
    cells = pd.DataFrame({name: _text(df[c]) for name, c in zip(names, df.columns, strict=True)})
    return Table(shown, names, cells, np.arange(2, len(df) + 2, dtype=np.int64), ",", [])


def _text(col: pd.Series) -> pd.Series:
    """A column as the stripped text a CSV would hold: ISO dates, numbers as Python writes them, "" for
    missing."""
    missing = col.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(col):
        stamps = pd.to_datetime(col)
        if stamps.dt.tz is not None:
            # with its UTC offset, as a CSV writes it: the date rules decide, and say what they did
            text = stamps.map(lambda t: "" if pd.isna(t) else t.isoformat())
        else:
            whole_days = bool((stamps.dropna() == stamps.dropna().dt.normalize()).all())
            text = stamps.dt.strftime("%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M:%S")
    else:
        text = col.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v))
    out = text.astype(object).where(~missing, "").astype(str).str.strip()
    return out.reset_index(drop=True)
