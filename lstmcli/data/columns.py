"""Which columns of a wide file are the target and the features, and which are left out.

A column is numeric when at least half of its present cells are numbers; the few bad cells of a
numeric column are then the user's to fix (they are reported, not dropped).  Every column left out
is named in a note, so nothing disappears silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstmcli.data.cells import Table, has_thousands_separator, integer_column, missing_mask, numeric_column
from lstmcli.data.wording import fmt_list, missing_col_error, show
from lstmcli.errors import ConfigError, DataError


def choose_columns(
    table: Table,
    time_name: str | None,
    target: str | None,
    features: str | Sequence[str] | None,
    notes: list[str],
) -> tuple[str, list[str]]:
    """The target and the feature columns; appends a note for every choice and every ignored column."""
    p = table.path
    numeric_cols, text_cols, empty_cols = _classify(table, time_name, target, notes)

    if target is None:
        pool = numeric_cols
        if features is not None and not (isinstance(features, str) and features.strip().lower() == "all"):
            listed = set(_resolve_features(table, features, None, time_name, numeric_cols))
            pool = [c for c in numeric_cols if c not in listed]
        if len(pool) == 1:
            target = pool[0]
            why = "the only numeric column" + (" that is not a feature" if pool is not numeric_cols else "")
            notes.append(f"Forecasting column '{target}', {why}.")
        elif not pool:
            kinds = [
                f"{c} (time)"
                if c == time_name
                else f"{c} (text, e.g. {show(_first_cell(table, c))})"
                if c in text_cols
                else f"{c} (empty)"
                if c in empty_cols
                else c
                for c in table.columns
            ]
            raise DataError(f"{p}: no numeric column to forecast; columns are: {', '.join(kinds)}")
        else:
            wide = (  # a column per series, as a spreadsheet holds them: say how many series are read
                "; one series per column? lstmcli reads many series from a long file (an id, a date and a "
                "value column per row: train --id-col ID)"
                if len(pool) >= 3
                else ""
            )
            raise DataError(
                f"{p}: {len(pool)} numeric columns ({fmt_list(pool, 10)}); choose the one to forecast with "
                f"--target{wide}"
            )
    elif target not in table.columns:
        raise missing_col_error(p, target, table.columns)

    feat_names = _resolve_features(table, features, target, time_name, numeric_cols)
    used = (target, *feat_names)
    for c in used:
        if c in empty_cols:
            raise DataError(f"{p}: column '{c}' has no values")
    unused_text = [c for c in text_cols if c not in used]
    if unused_text:
        notes.append(
            f"Ignored text {'column' if len(unused_text) == 1 else 'columns'} "
            f"{', '.join(repr(c) for c in unused_text)}."
        )
    unused_empty = [c for c in empty_cols if c not in used]
    if unused_empty:
        notes.append(
            f"Ignored empty {'column' if len(unused_empty) == 1 else 'columns'} "
            f"{', '.join(repr(c) for c in unused_empty)}."
        )
    return target, feat_names


def _classify(
    table: Table, time_name: str | None, target: str | None, notes: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """Split the columns other than the time into numeric, text and empty ones (in file order)."""
    numeric_cols, text_cols, empty_cols = [], [], []
    n = len(table.df)
    for c in table.columns:
        if c == time_name:
            continue
        s = table.df[c]
        present = ~missing_mask(s)
        if not present.any():
            empty_cols.append(c)
            continue
        col = numeric_column(table, c)  # knows about decimal commas in ';' files
        # numbers with thousands separators are numbers the user must rewrite, not text: the column
        # stays numeric so that check_numbers names the first such cell and says why
        grouped = s.map(lambda cell: has_thousands_separator(cell, table.sep)).to_numpy(dtype=bool)
        if (col.bad & ~grouped)[present].mean() > 0.5:
            text_cols.append(c)
            continue
        if c.startswith("Unnamed: ") and c != target:
            # pandas' DataFrame.to_csv writes the row numbers as a first column without a name.
            ints = integer_column(table, c)
            if ints is not None and (
                np.array_equal(ints, np.arange(n)) or np.array_equal(ints, np.arange(1, n + 1))
            ):
                notes.append(f"Ignored the unnamed column '{c}': it only numbers the rows.")
                continue
        numeric_cols.append(c)
    return numeric_cols, text_cols, empty_cols


def _first_cell(table: Table, name: str) -> str:
    """The column's first cell with a value: what a text column holds ('45.0%', '$9,007'), for a message."""
    s = table.df[name]
    present = s[~missing_mask(s)]
    return str(present.iloc[0]) if len(present) else ""


def _resolve_features(table, features, target, time_name, numeric_cols) -> list[str]:
    """``--features`` as a list of column names, checked against the file."""
    if features is None:
        return []
    if isinstance(features, str):
        if features.strip().lower() == "all":
            return [c for c in numeric_cols if c != target]
        names = [f.strip() for f in features.split(",") if f.strip()]
    else:
        try:
            names = [str(f).strip() for f in features]
        except TypeError:
            raise ConfigError(f"--features must be 'all' or column names, got {features!r}") from None
    out: list[str] = []
    for f in names:
        check_input_column(
            table, f, target, time_name, "--features", "feature column", "; it is always an input already"
        )
        if f not in out:
            out.append(f)
    return out


def check_input_column(
    table: Table, name: str, target: str, time_name: str | None, option: str, role: str, as_target: str
) -> None:
    """A column that ``option`` names as a network input: it exists and is neither the target (``as_target``
    says why, after "is the target") nor the time column."""
    if name not in table.columns:
        raise missing_col_error(table.path, name, table.columns, role)
    if name == target:
        raise ConfigError(f"{option}: column '{name}' is the target{as_target}")
    if name == time_name:
        raise ConfigError(f"{option}: column '{name}' is the time column, not a numeric input")
