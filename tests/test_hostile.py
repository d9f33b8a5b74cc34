"""Hostile inputs (issue #24 items 2, 3, 7, 8, 9): long series, zip bombs, options train would accept but
predict refuse, numbers at the edges, dates and metadata; each as a user meets it."""

from __future__ import annotations

import json
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.errors import ConfigError, ModelFileError
from lstmcli.forecasting import baselines, seasonal
from lstmcli.forecasting.config import MAX_LAYERS, ForecasterConfig
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.modelfile import load_state
from lstmcli.npzfile import npz_bytes

REPO = Path(__file__).resolve().parent.parent
ICE_CREAM = REPO / "sample_data" / "ice_cream.csv"
FAST = ["--epochs", "3", "--hidden", "4", "--ensemble", "1"]


def run(runner: CliRunner, *args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *words: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def model(runner, tmp_path, monkeypatch) -> Path:
    """A model trained on the ice-cream sample in the test's folder (the folder is the cwd)."""
    monkeypatch.chdir(tmp_path)
    result = run(runner, "train", ICE_CREAM, *FAST, "-m", "model.npz", "-q")
    assert result.exit_code == 0, result.output
    return tmp_path / "model.npz"


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _with_meta(src: Path, dst: Path, change) -> Path:
    arrays = _arrays(src)
    meta = json.loads(str(arrays["metadata"]))
    change(meta)
    arrays["metadata"] = np.array(json.dumps(meta))
    dst.write_bytes(npz_bytes(arrays))
    return dst


# ---------------------------------------------------------------------------------------------- item 2
def _series(rng, n: int, m: int) -> np.ndarray:
    t = np.arange(n)
    return 50 + 10 * np.sin(2 * np.pi * t / max(m, 1)) + rng.normal(0, rng.uniform(0.5, 30), n)


@pytest.mark.parametrize("m", [1, 4, 7, 12, 24])
def test_naive2_from_every_origin_is_naive2_of_every_prefix_bit_for_bit(m):
    rng = np.random.default_rng(m)
    for _ in range(6):
        y = _series(rng, int(rng.integers(10, 600)), m)
        y[: len(y) // 4] = y[0]  # a constant start: prefixes that are constant, then not
        origins = np.arange(1, len(y) + 1)
        # what baseline_forecasts returns as "Naive2" (test_baselines holds the whole dict to single
        # calls), without Theta, ES and ARIMA fitted at every origin too: 20 s of the suite
        got = baselines._naive2_from_origins(y, origins, 5, m)
        want = np.array([baselines.naive2(y[:o], 5, m) for o in origins])
        np.testing.assert_array_equal(got, want)


def test_naive2_over_many_origins_tests_seasonality_once_not_per_origin(monkeypatch):
    """The cost of the baselines is one pass over the series, not one per validation origin."""
    calls = []
    real = seasonal.seasonality_test
    monkeypatch.setattr(seasonal, "seasonality_test", lambda y, m: calls.append(len(y)) or real(y, m))
    monkeypatch.setattr(baselines, "seasonality_test", seasonal.seasonality_test)
    y = _series(np.random.default_rng(0), 1500, 24)
    baselines.baseline_forecasts(y, np.arange(1300, 1500), 24, 24)
    assert len(calls) < 10  # only a prefix too close to the test's limit is decided one by one


def test_validation_table_is_the_mean_of_each_origins_evaluate():
    from lstmcli.forecasting.metrics import evaluate

    rng = np.random.default_rng(1)
    y = _series(rng, 400, 12)
    y[300] = 0.0  # a zero actual: MAPE undefined for those windows
    origins = np.arange(280, 400)
    actual = np.full((len(origins), 6), np.nan)
    for k, o in enumerate(origins):
        actual[k, : len(y[o : o + 6])] = y[o : o + 6]
    forecasts = np.nan_to_num(actual, nan=1.0) + rng.normal(0, 1, actual.shape)
    table = baselines.compare_with_baselines(y, origins, actual, forecasts, 12)
    ok = np.isfinite(actual)
    rows = [evaluate(actual[k][ok[k]], forecasts[k][ok[k]], y[:o], 12) for k, o in enumerate(origins)]
    for metric in ("MAE", "RMSE", "MAPE", "sMAPE", "MASE"):
        want = float(np.mean([r[metric] for r in rows]))
        assert table["LSTM"][metric] == want or (np.isnan(want) and np.isnan(table["LSTM"][metric]))


def test_long_series_scales_from_running_sums_agree_with_the_exact_ones(monkeypatch):
    y = _series(np.random.default_rng(2), 3000, 24)
    origins = np.arange(2000, 3000)
    exact = baselines._mase_scales(y, origins, 24)
    monkeypatch.setattr(baselines, "_EXACT_SCALE_BUDGET", 0)
    np.testing.assert_allclose(baselines._mase_scales(y, origins, 24), exact, rtol=1e-12)


def test_validation_forecasts_come_from_a_bounded_number_of_origins(monkeypatch):
    from lstmcli.data.series import SeriesData
    from lstmcli.forecasting import planning

    monkeypatch.setattr(planning, "VALIDATION_ORIGINS", 50)
    y = _series(np.random.default_rng(3), 2000, 24)
    data = SeriesData("long.csv", "y", y, np.zeros((len(y), 0)), (), None, None, None, ())
    model = Forecaster(ForecasterConfig(epochs=1, hidden=4, ensemble=1, season=24)).fit(data)
    origins = model.validation_origins_
    assert len(origins) <= 50 and len(model.residuals_) == len(origins)
    assert origins[-1] == len(y) - 1  # the latest origin is always among them


# ---------------------------------------------------------------------------------------------- item 3
def _npy_header(dtype: str, shape: tuple[int, ...]) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _add_entry(path: Path, key: str, header: bytes, zeros: int) -> None:
    """Append ``key``.npy: ``header`` then ``zeros`` zero bytes, deflated (streamed: never in memory)."""
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open(f"{key}.npy", "w", force_zip64=True) as entry:
            entry.write(header)
            chunk = bytes(1 << 20)
            left = zeros
            while left > 0:
                entry.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)


def _without(src: Path, dst: Path, key: str) -> Path:
    arrays = _arrays(src)
    del arrays[key]
    dst.write_bytes(npz_bytes(arrays))
    return dst


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
    except ModelFileError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 1e6


def test_unknown_entries_are_never_decompressed(model, tmp_path):
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(model.read_bytes())
    _add_entry(bomb, "future.addition", _npy_header("<f8", (40_000_000,)), 320_000_000)
    assert bomb.stat().st_size < 2_000_000
    assert _peak_mb(lambda: load_state(bomb)) < 50
    assert load_state(bomb).horizon == load_state(model).horizon


def test_a_known_entry_that_unpacks_to_far_more_than_the_file_is_refused(model, tmp_path, runner):
    bomb = _without(model, tmp_path / "bomb.npz", "validation.residuals")
    horizon = load_state(model).horizon
    rows = 300_000_000 // (8 * horizon)
    _add_entry(bomb, "validation.residuals", _npy_header("<f8", (rows, horizon)), rows * horizon * 8)
    assert _peak_mb(lambda: load_state(bomb)) < 50
    result = run(runner, "predict", "-m", bomb)
    assert result.exit_code == 1
    one_line_error(result, "bomb.npz", "64 times")


def test_a_npy_header_that_lies_about_its_size_is_a_damaged_entry(model, tmp_path, runner):
    liar = _without(model, tmp_path / "liar.npz", "validation.residuals")
    _add_entry(liar, "validation.residuals", _npy_header("<f8", (10**12, 12)), 96)
    before = liar.read_bytes()
    assert _peak_mb(lambda: load_state(liar)) < 50
    result = run(runner, "predict", "-m", liar)
    assert result.exit_code == 1
    line = one_line_error(result, "liar.npz", "validation.residuals.npy", "header claims")
    assert "memory" not in line and "--batch-size" not in line
    assert liar.read_bytes() == before


def test_a_huge_metadata_string_is_refused_before_it_is_read(model, tmp_path, runner):
    big = _without(model, tmp_path / "big.npz", "metadata")
    chars = 25_000_000  # 100 MB as a NumPy unicode string
    _add_entry(big, "metadata", _npy_header(f"<U{chars}", ()), 4 * chars)
    assert _peak_mb(lambda: load_state(big)) < 50
    result = run(runner, "predict", "-m", big)
    assert result.exit_code == 1
    one_line_error(result, "big.npz", "metadata", "implausibly large")


# ---------------------------------------------------------------------------------------------- item 7
def test_options_beyond_what_a_model_file_may_hold_are_refused_before_training(runner, model):
    before = model.read_bytes()
    for option, value in [("--layers", MAX_LAYERS + 36), ("--ensemble", 1001), ("--horizon", 10**6)]:
        result = run(runner, "train", ICE_CREAM, *FAST, option, value, "-m", "model.npz", "-q")
        assert result.exit_code == 2, (option, result.output)
        assert option in result.output
    assert model.read_bytes() == before
    with pytest.raises(ConfigError, match="--layers must be at most"):
        ForecasterConfig(layers=MAX_LAYERS + 1)


def test_the_largest_accepted_sizes_are_the_ones_the_loader_reads(model, tmp_path):
    def deeper(meta):
        meta["network"]["num_layers"] = MAX_LAYERS + 1

    with pytest.raises(ModelFileError, match="implausible network size"):
        load_state(_with_meta(model, tmp_path / "deep.npz", deeper))


# ---------------------------------------------------------------------------------------------- item 8
def _csv(path: Path, scale: float) -> Path:
    t = np.arange(120)
    y = (10 + np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(t)) * scale
    dates = np.datetime64("2000-01", "M") + t
    path.write_text("date,value\n" + "".join(f"{d}-01,{float(v)!r}\n" for d, v in zip(dates, y, strict=True)))
    return path


@pytest.mark.parametrize(("scale", "words"), [(1e-300, ["underflow", "multiply"]), (1e300, ["overflow"])])
def test_values_at_the_edges_of_floating_point_say_so(runner, model, scale, words):
    before = model.read_bytes()
    data = _csv(model.parent / "edge.csv", scale)
    result = run(runner, "train", data, *FAST, "-m", "model.npz", "-q")
    assert result.exit_code == 1, result.output
    line = one_line_error(result, "edge.csv", "'value'", *words)
    assert "--lr" not in line
    assert model.read_bytes() == before


def test_newer_data_at_the_edges_says_so_too(runner, model):
    data = _csv(model.parent / "newer.csv", 1e300)
    result = run(runner, "predict", "-m", model, "--data", data)
    assert result.exit_code == 1, result.output
    one_line_error(result, "newer.csv", "'value'", "overflow")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["train", ICE_CREAM, "--val-size", "1.5"], "--val-size"),
        (["train", ICE_CREAM, "--val-size", "nan"], "--val-size"),
        (["backtest", ICE_CREAM, "--val-size", "inf"], "--val-size"),
        (["train", ICE_CREAM, "--seed", "-1"], "--seed"),
        (["backtest", ICE_CREAM, "--seed", "-1"], "--seed"),
    ],
)
def test_out_of_range_options_are_usage_errors(runner, model, args, option):
    before = model.read_bytes()
    result = run(runner, *args, *FAST, *(["-m", "model.npz"] if args[0] == "train" else []))
    assert result.exit_code == 2, result.output
    assert option in result.output and "Traceback" not in result.output
    assert model.read_bytes() == before


# ---------------------------------------------------------------------------------------------- item 9
def test_a_last_date_beyond_2262_is_refused_not_wrapped_around(runner, model):
    def far(meta):
        meta["data"]["last_timestamp"] = "9999-12-01T00:00:00"

    result = run(runner, "predict", "-m", _with_meta(model, model.parent / "far.npz", far))
    assert result.exit_code == 1
    one_line_error(result, "far.npz", "9999-12-01", "2262")


def test_dates_past_2262_are_refused_before_anything_is_computed(runner, model, monkeypatch):
    real = Forecaster.forecast_from_origins

    def never(self, y, features, origins, horizon, start=0):
        if horizon > 1:  # (loading a model makes a first one-step forecast)
            raise AssertionError("forecast computed before the dates were checked")
        return real(self, y, features, origins, horizon, start)

    monkeypatch.setattr(Forecaster, "forecast_from_origins", never)
    result = run(runner, "predict", "-m", model, "--horizon", "5000")
    assert result.exit_code == 1
    one_line_error(result, "2262")
    result = run(runner, "predict", "-m", model, "--horizon", "1000000")
    assert result.exit_code == 2 and "--horizon" in result.output


def test_a_crafted_horizon_is_refused_on_load(model):
    def huge(meta):
        meta["resolved"]["horizon"] = 10**9

    with pytest.raises(ModelFileError, match="implausible horizon"):
        load_state(_with_meta(model, model.parent / "h.npz", huge))


@pytest.mark.parametrize("n_obs", [5, 1, 10**6])
def test_an_n_obs_that_does_not_match_the_stored_data_is_refused(model, n_obs):
    def wrong(meta):
        meta["data"]["n_obs"] = n_obs

    with pytest.raises(ModelFileError, match="n_obs"):
        load_state(_with_meta(model, model.parent / "n.npz", wrong))


def test_unknown_keys_in_the_network_section_are_ignored(model, runner):
    def newer(meta):
        meta["network"]["added_in_a_later_minor_version"] = 1

    path = _with_meta(model, model.parent / "newer.npz", newer)
    assert (
        run(runner, "predict", "-m", path, "--format", "csv").stdout
        == run(runner, "predict", "-m", model, "--format", "csv").stdout
    )


def test_a_last_timestamp_with_an_offset_is_one_line_and_no_numpy_warning(model, runner):
    def offset(meta):
        meta["data"]["last_timestamp"] = "2023-02-01T00:00:00+02:00"

    path = _with_meta(model, model.parent / "tz.npz", offset)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelFileError, match="time-zone offset"):
            load_state(path)
    result = run(runner, "predict", "-m", path)
    assert result.exit_code == 1
    one_line_error(result, "tz.npz", "offset")
