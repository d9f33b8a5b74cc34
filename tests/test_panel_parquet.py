"""Parquet panels (issue #19): the same cells and rules as a long CSV; pyarrow only when one is given."""

import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data.loader import load_csv, load_long_csv
from lstmcli.data.panel import load_panel
from lstmcli.errors import DataError
from tests.test_panel import DATA, TINY_CLI, panel_frame

runner = CliRunner()


def _frames():
    df = panel_frame()
    typed = df.assign(date=pd.to_datetime(df["date"]))  # real timestamps, as Parquet holds them
    return df, typed


def test_a_parquet_panel_reads_as_the_same_csv(tmp_path):
    pytest.importorskip("pyarrow")
    df, typed = _frames()
    df.to_csv(tmp_path / "stores.csv", index=False)
    typed.to_parquet(tmp_path / "stores.parquet")
    a = load_panel(tmp_path / "stores.csv", id_col="store")
    b = load_panel(tmp_path / "stores.parquet", id_col="store")
    assert a.ids == b.ids and a.skipped == b.skipped and a.freq == b.freq
    for s, t in zip(a.series, b.series, strict=True):
        np.testing.assert_array_equal(s.values, t.values)
        np.testing.assert_array_equal(s.timestamps, t.timestamps)


def test_timestamps_with_a_time_zone_read_as_their_csv_reads_and_say_so(tmp_path):
    """Hourly Europe/Berlin timestamps across a change of clocks were converted to UTC without a word
    from Parquet (the CSV of them says so; a walk-through): written with their offsets, the date rules
    of a CSV decide, and say."""
    pytest.importorskip("pyarrow")
    stamps = pd.date_range("2024-03-30", periods=72, freq="h", tz="Europe/Berlin")
    frame = pd.DataFrame({"feeder": "a", "ts": stamps, "load": np.sin(np.arange(72) / 4) + 2.0})
    frame.to_parquet(tmp_path / "load.parquet")
    frame.to_csv(tmp_path / "load.csv", index=False)
    a = load_panel(tmp_path / "load.csv", id_col="feeder")
    b = load_panel(tmp_path / "load.parquet", id_col="feeder")
    assert (
        a.notes == b.notes and "The dates have different UTC offsets; they were converted to UTC." in b.notes
    )
    np.testing.assert_array_equal(a.series[0].timestamps, b.series[0].timestamps)
    np.testing.assert_array_equal(a.series[0].values, b.series[0].values)


def test_a_long_parquet_file_backtests(tmp_path):
    pytest.importorskip("pyarrow")
    pd.read_csv(DATA / "m3_quarterly_first3.csv").to_parquet(tmp_path / "m3.parquet")
    a, b = load_long_csv(DATA / "m3_quarterly_first3.csv"), load_long_csv(tmp_path / "m3.parquet")
    assert [s.series_id for s in a] == [s.series_id for s in b]
    assert all(np.array_equal(s.values, t.values) and s.n_test == t.n_test for s, t in zip(a, b, strict=True))


def test_cli_train_on_parquet_and_a_bad_cell_is_one_line(tmp_path):
    pytest.importorskip("pyarrow")
    _, typed = _frames()
    typed.to_parquet(tmp_path / "stores.parquet")
    r = runner.invoke(app, ["train", str(tmp_path / "stores.parquet"), "--id-col", "store", "-m",
                            str(tmp_path / "m.npz"), *TINY_CLI, "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    bad = typed.assign(sales=typed["sales"].astype(str))  # a text column, as a careless export writes it
    bad.loc[5, "sales"] = "n/a?"
    bad.to_parquet(tmp_path / "bad.parquet")
    r = runner.invoke(app, ["train", str(tmp_path / "bad.parquet"), "--id-col", "store", "-m",
                            str(tmp_path / "b.npz"), "--target", "sales", *TINY_CLI, "-q"])  # fmt: skip
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert r.exit_code == 1 and len(errors) == 1 and "line 7" in errors[0], r.stderr


def test_a_damaged_parquet_file_is_one_line(tmp_path):
    pytest.importorskip("pyarrow")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1" + b"\x00" * 40 + b"PAR1")
    with pytest.raises(DataError, match=r"bad.parquet: not a readable Parquet file") as e:
        load_panel(tmp_path / "bad.parquet", id_col="store")
    assert "\n" not in str(e.value)


def test_without_pyarrow_the_error_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "p.parquet").write_bytes(b"PAR1" + b"\x00" * 40 + b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow fails as if it were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DataError, match=r"p.parquet: reading Parquet needs pyarrow.*lstmcli\[parquet\]"):
        load_panel(tmp_path / "p.parquet", id_col="store")


def test_a_single_series_still_refuses_parquet(tmp_path):
    (tmp_path / "p.parquet").write_bytes(b"PAR1" + b"\x00" * 40 + b"PAR1")
    with pytest.raises(
        DataError,
        match=r"is not a text CSV \(it looks like a Parquet file, which lstmcli reads as a file of many "
        r"series, with --id-col\)",
    ):
        load_csv(tmp_path / "p.parquet")
