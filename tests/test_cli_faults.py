"""Hostile files, full disks, unwritable folders and diverging training, at the command line."""

from __future__ import annotations

import errno
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app

REPO = Path(__file__).resolve().parent.parent
AIR = REPO / "sample_data" / "air_passengers.csv"
FAST = ["--epochs", "3", "--hidden", "4"]


@pytest.fixture
def runner(monkeypatch, tmp_path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    # notes and the progress bar may come first; the error is one line, the last
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert "Traceback" not in result.output


def _pickle_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        array = np.empty(1, dtype=object)
        array[0] = {"exploit": True}
        entry = io.BytesIO()
        np.lib.format.write_array(entry, array, allow_pickle=True)
        zf.writestr("metadata.npy", entry.getvalue())
    return buf.getvalue()


def _newer_version(good: bytes) -> bytes:
    with np.load(io.BytesIO(good), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["metadata"]))
    meta["format_version"] = "7.0"
    arrays["metadata"] = np.array(json.dumps(meta))
    from lstmcli.npzfile import npz_bytes

    return npz_bytes(arrays)


BAD_FILES = {
    "empty": (lambda good: b"", "empty file"),
    "random": (lambda good: os.urandom(500), "not a lstmcli model file"),
    "csv-renamed": (lambda good: AIR.read_bytes(), "not a lstmcli model file"),
    "truncated": (lambda good: good[: len(good) // 3], "damaged or truncated"),
    "pickle": (lambda good: _pickle_archive(), "pickled"),
    "newer-format": (_newer_version, "needs a newer lstmcli"),
}


@pytest.mark.parametrize("command", ["predict", "inspect"])
@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_model_files(runner, trained_model, tmp_path, command, kind):
    make, message = BAD_FILES[kind]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(make(trained_model.read_bytes()))
    _one_line_error(runner.invoke(app, [command, "--model", str(bad)]), "bad.npz", message)


def test_directory_as_model(runner, tmp_path):
    (tmp_path / "dir.npz").mkdir()
    _one_line_error(runner.invoke(app, ["predict", "--model", "dir.npz"]), "dir.npz", "directory")


def test_unwritable_destinations(runner, trained_model):
    _one_line_error(
        runner.invoke(app, ["train", str(AIR), *FAST, "-m", "nowhere/model.npz"]), "does not exist"
    )
    result = runner.invoke(app, ["predict", "--model", str(trained_model), "--output", "nowhere/f.csv"])
    _one_line_error(result, "does not exist")


def test_full_disk_keeps_the_previous_model(runner, tmp_path, monkeypatch):
    assert runner.invoke(app, ["train", str(AIR), *FAST]).exit_code == 0
    before = (tmp_path / "model.npz").read_bytes()

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    result = runner.invoke(app, ["train", str(AIR), *FAST, "--seed", "3"])
    _one_line_error(result, "No space left on device", "previous file is intact")
    assert (tmp_path / "model.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_diverging_training_says_what_to_try(runner):
    result = runner.invoke(app, ["train", str(AIR), "--epochs", "5", "--lr", "1e35"])
    assert "Traceback" not in result.output
    assert "--lr" in result.output
    if result.exit_code == 0:  # a good epoch came first: its weights were kept and saved
        from lstmcli.forecasting.forecaster import Forecaster

        assert Forecaster.load("model.npz").train_result_.stop_reason == "diverged"
    else:
        _one_line_error(result, "diverged")


def test_a_forecast_that_grows_past_the_float_range_is_refused_naming_the_step(runner, tmp_path):
    """A series growing 30 % a step: ARIMA on the logarithms compounds it (a member of the default mean
    for a series without a season); after some 2,600 steps the forecast passes 1.8e308. inf would be no
    forecast (and not JSON): one line, nothing written."""
    data = tmp_path / "growth.csv"
    data.write_text("value\n" + "".join(f"{100 * 1.3**k}\n" for k in range(40)))
    trained = runner.invoke(app, ["train", str(data), "--season", "1", "--epochs", "2", "--ensemble", "1"])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "forecast.json"
    # ARIMA alone (a closed-form fit of exact growth): its log path passes 709.78 at step 2649 on any machine
    for extra in ([], ["--format", "json"], ["--output", str(out)]):
        result = runner.invoke(app, ["predict", "--method", "arima", "--horizon", "3000", *extra])
        _one_line_error(result, "--horizon 3000", "at step 2649", "at most 2648 steps")
    assert not out.exists()
    # the default mean with intervals: ARIMA takes it past the range too (the networks' part, trained in
    # float32, may do so first on another machine, so the step is not asserted)
    result = runner.invoke(app, ["predict", "--horizon", "3000", "--level", "80"])
    _one_line_error(result, "--horizon 3000", "the forecast passes the largest number a float holds")
    fine = runner.invoke(app, ["predict", "--method", "arima", "--horizon", "2000", "--format", "json"])
    assert fine.exit_code == 0 and np.isfinite(json.loads(fine.stdout)["forecast"][-1]["forecast"])
