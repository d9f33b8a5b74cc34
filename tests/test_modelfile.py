"""The model file: no pickle, PyTorch names, versioned, atomic, validated on load."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lstmcli.data.transforms import Pipeline
from lstmcli.engine.network import LSTMNetwork
from lstmcli.errors import LstmcliError, ModelFileError
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.modelfile import load_state, save_state
from lstmcli.npzfile import atomic_write_bytes, npz_bytes


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _rewrite(src: Path, dst: Path, change) -> Path:
    arrays = _arrays(src)
    change(arrays)
    dst.write_bytes(npz_bytes(arrays))
    return dst


def _meta(arrays):
    return json.loads(str(arrays["metadata"]))


def _set_meta(arrays, meta):
    arrays["metadata"] = np.array(json.dumps(meta))


def test_file_opens_without_pickle_and_has_pytorch_names(trained_model: Path):
    arrays = _arrays(trained_model)
    assert arrays["lstm.weight_ih_l0"].shape == (16, 1)
    assert arrays["lstm.weight_hh_l0"].shape == (16, 4)
    assert arrays["lstm.bias_ih_l0"].shape == arrays["lstm.bias_hh_l0"].shape == (16,)
    assert arrays["head.weight"].shape == (1, 4) and arrays["head.bias"].shape == (1,)
    assert all(a.dtype != object for a in arrays.values())
    meta = _meta(arrays)
    assert meta["format_version"] == "4.0"
    assert meta["data"]["freq"] == "MS" and meta["resolved"]["season"] == 12
    assert {"network", "settings", "transforms", "validation", "training"} <= set(meta)
    assert meta["settings"]["seed"] == 0 and meta["training"]["history"]


def test_save_load_round_trip_predicts_identically(trained_model: Path, tmp_path: Path):
    model = Forecaster.load(trained_model)
    copy = tmp_path / "copy.npz"
    model.save(copy)
    assert copy.read_bytes() == trained_model.read_bytes()  # deterministic bytes
    np.testing.assert_array_equal(Forecaster.load(copy).predict(12).values, model.predict(12).values)


def test_model_file_loads_into_torch(trained_model: Path):
    torch = pytest.importorskip("torch")
    arrays = _arrays(trained_model)
    model = Forecaster.load(trained_model)
    lstm = torch.nn.LSTM(1, 4, num_layers=1, batch_first=True)
    head = torch.nn.Linear(4, 1)
    lstm.load_state_dict({k[5:]: torch.tensor(v) for k, v in arrays.items() if k.startswith("lstm.")})
    head.load_state_dict({k[5:]: torch.tensor(v) for k, v in arrays.items() if k.startswith("head.")})
    window = model.trace().inputs.astype(np.float32)[None]
    out, _ = lstm(torch.tensor(window))
    np.testing.assert_allclose(
        head(out[:, -1]).detach().numpy()[0], model.trace().output, rtol=1e-5, atol=1e-6
    )


def _plain(value):
    """A FittedState, or any part of it, as nested dicts, lists and arrays for np.testing.assert_equal
    (which takes NaN as equal to NaN)."""
    if isinstance(value, LSTMNetwork):
        return {"config": value.config.to_dict(), "params": value.state_dict()}
    if isinstance(value, Pipeline):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_a_fitted_state_round_trips_through_the_model_file(tmp_path: Path):
    from tests.test_forecaster import seasonal_series, series

    state = (
        Forecaster(ForecasterConfig(hidden=4, epochs=3, ensemble=2)).fit(series(seasonal_series(60))).state_
    )
    save_state(state, tmp_path / "model.npz")
    loaded = load_state(tmp_path / "model.npz")
    # all but what a file leaves out on purpose (the wall-clock time of training) and the format it was read from
    expected = dataclasses.replace(
        state,
        train_result=dataclasses.replace(state.train_result, seconds=math.nan),
        format_version="4.0",
    )
    np.testing.assert_equal(_plain(loaded), _plain(expected))
    save_state(loaded, tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == (tmp_path / "model.npz").read_bytes()


# ------------------------------------------------------------------------------------------ hostile files
class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/lstmcli-pwned",))


def _pickled_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        array = np.empty(1, dtype=object)
        array[0] = _Exploit()
        entry = io.BytesIO()
        np.lib.format.write_array(entry, array, allow_pickle=True)
        zf.writestr("lstm.weight_ih_l0.npy", entry.getvalue())
        zf.writestr("metadata.npy", pickle.dumps(_Exploit()))
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, good: p.write_bytes(b""), "empty file"),
        (lambda p, good: p.write_bytes(os.urandom(300)), "not a lstmcli model file"),
        (lambda p, good: p.write_bytes(b"date,value\n2020-01-01,1\n"), "not a lstmcli model file"),
        (
            lambda p, good: p.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2]),
            "damaged or truncated",
        ),
        (lambda p, good: p.write_bytes(_pickled_archive()), "pickled"),
    ],
    ids=["empty", "random-bytes", "csv-renamed", "truncated", "pickle-exploit"],
)
def test_unusable_files_are_refused(trained_model: Path, tmp_path: Path, make, message):
    bad = tmp_path / "bad.npz"
    make(bad, trained_model)
    with pytest.raises(ModelFileError, match=message) as info:
        Forecaster.load(bad)
    assert str(info.value).startswith("bad.npz: ") and "\n" not in str(info.value)
    assert not Path("/tmp/lstmcli-pwned").exists()


def test_an_entry_lstmcli_does_not_read_may_not_be_pickled_either(trained_model: Path, tmp_path: Path):
    # the README says the loader refuses any archive holding one; an extra entry loaded unread
    bad = tmp_path / "extra.npz"
    with zipfile.ZipFile(bad, "w") as out, zipfile.ZipFile(trained_model) as good:
        for info in good.infolist():
            out.writestr(info, good.read(info))
        entry = io.BytesIO()
        array = np.empty(1, dtype=object)
        array[0] = _Exploit()
        np.lib.format.write_array(entry, array, allow_pickle=True)
        out.writestr("extra.npy", entry.getvalue())
    with pytest.raises(ModelFileError, match="^extra.npz: entry extra.npy is a pickled object array"):
        Forecaster.load(bad)
    assert not Path("/tmp/lstmcli-pwned").exists()


def test_save_from_python_never_replaces_a_file_that_is_not_a_model(trained_model: Path, tmp_path: Path):
    # the command line refused train -m forecast.csv; Forecaster.save replaced the CSV
    forecast = tmp_path / "forecast.csv"
    forecast.write_text("date,forecast\n2020-01-01,1\n")
    with pytest.raises(LstmcliError, match="exists and is not a model file"):
        Forecaster.load(trained_model).save(forecast)
    assert forecast.read_text() == "date,forecast\n2020-01-01,1\n"
    Forecaster.load(trained_model).save(tmp_path / "again.npz")  # a new file, and over a model:
    Forecaster.load(trained_model).save(tmp_path / "again.npz")


def _drop(key):
    return lambda a: a.pop(key)


def _reshape(a):
    a["lstm.weight_hh_l0"] = np.zeros((16, 3), np.float32)


def _float16(a):
    a["head.weight"] = a["head.weight"].astype(np.float16)


def _nan(a):
    a["lstm.bias_ih_l0"][3] = np.nan


def _inf(a):
    a["head.bias"][0] = np.inf


def _bad_json(a):
    a["metadata"] = np.array("{not json")


def _no_field(a):
    meta = _meta(a)
    del meta["resolved"]["lookback"]
    _set_meta(a, meta)


def _newer(a):
    meta = _meta(a)
    meta["format_version"] = "5.0"
    _set_meta(a, meta)


def _metadata_array(a):
    a["metadata"] = np.arange(3.0)


def _negative_floor(a):
    a["calibration.naive2_errors"] = -a["calibration.naive2_errors"] - 1.0


def _floor_for_another_horizon(a):
    a["calibration.naive2_errors"] = a["calibration.naive2_errors"][:, :-1].copy()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop("lstm.weight_hh_l0"), "missing lstm.weight_hh_l0"),
        (_reshape, r"lstm.weight_hh_l0 has shape \(16, 3\), expected \(16, 4\)"),
        (_float16, "head.weight has dtype float16, expected float32"),
        (_nan, "lstm.bias_ih_l0 contains NaN"),
        (_inf, "head.bias contains NaN or infinite"),
        (_bad_json, "metadata is not valid JSON"),
        (_no_field, "metadata lacks the field 'resolved.lookback'"),
        (_newer, "format 5.0 needs a newer lstmcli"),
        (_drop("metadata"), "no metadata"),
        (_metadata_array, "metadata must be a JSON string"),
        (_drop("data.tail_values"), "missing data.tail_values"),
        (_negative_floor, "calibration.naive2_errors must be non-negative"),
        (_floor_for_another_horizon, r"calibration.naive2_errors must be .* of shape \(k, "),
    ],
)
def test_damaged_models_get_one_precise_line(trained_model: Path, tmp_path: Path, change, message):
    bad = _rewrite(trained_model, tmp_path / "model.npz", change)
    with pytest.raises(ModelFileError, match=message) as info:
        Forecaster.load(bad)
    assert str(info.value).startswith("model.npz: ") and "\n" not in str(info.value)


def test_directory_and_missing_and_unreadable(tmp_path: Path, trained_model: Path):
    with pytest.raises(ModelFileError, match="is a directory"):
        Forecaster.load(tmp_path)
    with pytest.raises(ModelFileError, match="no such model file"):
        Forecaster.load(tmp_path / "nope.npz")
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked.npz"
        locked.write_bytes(trained_model.read_bytes())
        locked.chmod(0)
        with pytest.raises(ModelFileError, match="permission denied"):
            Forecaster.load(locked)


# ------------------------------------------------------------------------------------------ atomic writes
def test_failed_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old model")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(LstmcliError, match="No space left on device.*previous file is intact"):
        atomic_write_bytes(target, b"new model")
    assert target.read_bytes() == b"old model"
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_interrupted_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old model")

    def interrupted_fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new model")
    assert target.read_bytes() == b"old model"
    assert os.listdir(tmp_path) == ["model.npz"]


def test_unwritable_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(LstmcliError, match="does not exist"):
        atomic_write_bytes(tmp_path / "missing" / "model.npz", b"x")


def test_format_1_0_files_still_load():
    """A model written by lstmcli's first file format (1.0: one network, no seasonal indices) keeps
    loading and forecasting. The fixture was written by commit c1b219f (train --epochs 3 --hidden 4 on
    sample_data/air_passengers.csv)."""
    fixture = Path(__file__).resolve().parent / "fixtures" / "model_v1_0.npz"
    model = Forecaster.load(fixture)
    assert model.format_version_ == "1.0"
    assert model.config.combine == "none"  # files from before --combine: the networks' own, not the default
    values = model.predict(3).values
    np.testing.assert_allclose(values, [459.90686726, 490.11148397, 517.47575726], rtol=1e-6)


def test_a_file_without_the_interval_floor_loads_and_gives_intervals(trained_model: Path, tmp_path: Path):
    """Format 1.1 files have no calibration.naive2_errors: intervals come from the residuals alone."""
    older = _rewrite(trained_model, tmp_path / "model.npz", _drop("calibration.naive2_errors"))
    model = Forecaster.load(older)
    assert model.naive2_errors_ is None
    lo, hi = model.predict(6, levels=(80,)).intervals[80]
    assert np.all(hi >= lo)
