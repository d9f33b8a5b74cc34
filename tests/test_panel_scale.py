"""Large panels (issue #20): windows sampled per epoch, validation on a sample of series, every
series' forecasts and scores in batches, the shared date grid of the loader, Ctrl-C during a global
panel's training."""

import math
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data import panel as panel_data
from lstmcli.data.panel import load_panel
from lstmcli.data.transforms import guerrero_lambda
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.training import TrainConfig, fit
from lstmcli.forecasting import panel_global
from lstmcli.forecasting.baselines import compare_with_baselines
from lstmcli.forecasting.fitting import forecast_from_origins
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.forecasting.intervals import PANEL_MIN
from lstmcli.forecasting.panel import PanelForecaster
from lstmcli.forecasting.panel_batch import panel_forecasts, panel_validation
from tests.conftest import ctrl_c_after
from tests.test_panel import TINY, TINY_CLI, panel_frame

runner = CliRunner()


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "stores.csv"
    panel_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(panel_csv):
    return PanelForecaster(TINY, mode="global").fit(load_panel(panel_csv, id_col="store"))


@pytest.fixture
def sampled(monkeypatch):
    """Budgets small enough that the 4-series test panel is sampled as a large panel would be."""
    monkeypatch.setattr(panel_global, "EPOCH_WINDOWS", 40)
    monkeypatch.setattr(panel_global, "VAL_WINDOWS", 12)


# ---------------------------------------------------------------------------------------------- engine
def _train(epoch_windows: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(50, 6, 1)), rng.normal(size=(50, 1))
    rng = np.random.default_rng(seed)
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=4, num_layers=1, output_size=1), rng=rng)
    config = TrainConfig(epochs=3, batch_size=8, patience=0, epoch_windows=epoch_windows)
    fit(net, x, t, config, rng)
    return net.flat_params.copy()


def test_an_epoch_budget_samples_reproducibly_and_a_budget_past_the_windows_changes_nothing():
    every = _train(0)
    assert np.array_equal(_train(50), every) and np.array_equal(_train(500), every)
    assert np.array_equal(_train(20), _train(20))
    assert not np.array_equal(_train(20), every)
    assert not np.array_equal(_train(20, seed=1), _train(20))


def test_an_epoch_budget_trains_on_that_many_windows(monkeypatch):
    seen = []
    real = LSTMNetwork.forward

    def forward(self, x, *args, **kwargs):
        if kwargs.get("training"):
            seen.append(len(x))
        return real(self, x, *args, **kwargs)

    monkeypatch.setattr(LSTMNetwork, "forward", forward)
    _train(20)
    assert sum(seen) == 3 * 20  # 3 epochs of 20 windows (batches of 8, 8, 4)


# ---------------------------------------------------------------------------------------------- batches
def test_batched_forecasts_and_scores_are_each_series_own(fitted, panel_csv):
    st = fitted.state_
    data = load_panel(panel_csv, id_col="store")
    assert list(data.ids) == fitted.ids_
    ys = [np.asarray(s.values, dtype=np.float64) for s in data.series]
    feats = [np.zeros((len(y), 0)) for y in ys]
    starts = [0] * len(ys)
    L = max(st.first.ensemble.lookbacks) + st.first.preprocessing.lag
    origins = [np.arange(L + 1, len(y)) for y in ys]  # the last ones run past the end of the series
    batch = panel_forecasts(
        [s.preprocessing for s in st.states], st.first.ensemble, ys, feats, origins, 5, starts
    )
    for s, y, f, o, s0, b in zip(st.states, ys, feats, origins, starts, batch, strict=True):
        alone = forecast_from_origins(s.preprocessing, s.ensemble, None, y, f, o, 5, s0)
        # the same numbers up to the float32 network's rounding (a product's bits may depend on the batch)
        np.testing.assert_allclose(b, alone, rtol=1e-6, atol=0)
    checks = panel_validation(ys, origins, batch, 5, st.first.season)
    for y, o, b, (residuals, table) in zip(ys, origins, batch, checks, strict=True):
        actual = np.full((len(o), 5), np.nan)
        for k, start in enumerate(o):
            actual[k, : len(y[start : start + 5])] = y[start : start + 5]
        want_table = compare_with_baselines(y, o, actual, b, st.first.season)
        np.testing.assert_array_equal(residuals, actual - b)
        assert table == want_table  # the same scores, bit for bit


def test_panel_predict_is_each_series_forecaster(fitted):
    together = fitted.predict(levels=(80,))
    # fewer series than intervals.PANEL_MIN: each keeps its own intervals (tests/test_intervals.py)
    assert len(fitted.ids_) < PANEL_MIN
    for sid in fitted.ids_:
        alone = fitted.forecaster(sid).predict(levels=(80,))
        np.testing.assert_allclose(together[sid].values, alone.values, rtol=1e-6)
        np.testing.assert_allclose(together[sid].intervals[80][0], alone.intervals[80][0], rtol=1e-6)
        assert np.array_equal(together[sid].timestamps, alone.timestamps)
        assert together[sid].warnings == alone.warnings


# ---------------------------------------------------------------------------------------------- sampling
def test_sampled_training_is_reproducible_to_the_byte(tmp_path, panel_csv, sampled):
    paths = []
    for k in range(2):
        model = PanelForecaster(TINY, mode="global").fit(load_panel(panel_csv, id_col="store"))
        paths.append(tmp_path / f"m{k}.npz")
        model.save(paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    other = PanelForecaster(TINY.__class__(**(TINY.to_dict() | {"seed": 1})), mode="global")
    other.fit(load_panel(panel_csv, id_col="store")).save(tmp_path / "seed1.npz")
    assert (tmp_path / "seed1.npz").read_bytes() != paths[0].read_bytes()


def test_sampled_validation_watches_a_seeded_sample_of_series(panel_csv, sampled, monkeypatch):
    watched = []
    real = panel_global.train_members

    def spy(cfg, sets, **kwargs):
        watched.append([len(s.x_val) for s in sets if s.x_val is not None])
        return real(cfg, sets, **kwargs)

    monkeypatch.setattr(panel_global, "train_members", spy)
    PanelForecaster(TINY, mode="global").fit(load_panel(panel_csv, id_col="store"))
    assert watched[0] and all(0 < n <= 12 for n in watched[0])  # some series' windows, within VAL_WINDOWS


def test_sampled_global_forecasts_do_not_depend_on_the_order_of_the_series(tmp_path, sampled):
    df = panel_frame()
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    df.to_csv(a, index=False)
    df.sample(frac=1.0, random_state=3).to_csv(b, index=False)
    fa = PanelForecaster(TINY, mode="global").fit(load_panel(a, id_col="store")).predict()
    fb = PanelForecaster(TINY, mode="global").fit(load_panel(b, id_col="store")).predict()
    assert list(fa) == list(fb)
    for sid in fa:
        assert np.array_equal(fa[sid].values, fb[sid].values)


# ---------------------------------------------------------------------------------------------- Ctrl-C
def test_a_stop_keeps_the_best_weights_so_far_and_the_model_is_whole(tmp_path, panel_csv):
    polls = iter(range(1_000_000))
    model = PanelForecaster(TINY, mode="global")
    model.fit(load_panel(panel_csv, id_col="store"), should_stop=lambda: next(polls) >= 12)
    result = model.train_result_
    assert result.stop_reason == "interrupted" and result.best_epoch >= 1
    model.save(tmp_path / "m.npz")
    back = PanelForecaster.load(tmp_path / "m.npz")
    assert all(np.isfinite(f.values).all() for f in back.predict().values())


def test_cli_ctrl_c_during_a_global_panel_saves_the_best_weights_atomically(tmp_path, panel_csv, monkeypatch):
    from lstmcli.cli import train as train_cmd

    Pressed = ctrl_c_after(12)  # pressed once, some batches into the training
    monkeypatch.setattr(train_cmd, "_Interrupts", Pressed)
    model = tmp_path / "m.npz"
    r = runner.invoke(
        app, ["train", str(panel_csv), "--id-col", "store", "--global", "-m", str(model), "--format", "json",
              *TINY_CLI],
    )  # fmt: skip
    assert r.exit_code == 130, r.output  # (what it kept is written; the exit says it was cut short)
    assert '"stop_reason": "interrupted"' in r.output
    zipfile.ZipFile(model).testzip()
    assert not list(tmp_path.glob("*.tmp*"))
    r = runner.invoke(app, ["predict", "-m", str(model), "--format", "csv"])
    assert r.exit_code == 0, r.output


def test_global_progress_counts_the_series_of_each_pass(panel_csv):
    calls = []
    PanelForecaster(TINY, mode="global").fit(
        load_panel(panel_csv, id_col="store"), on_series=lambda done, total: calls.append((done, total))
    )
    assert calls[0] == (0, 4) and (4, 4) in calls and all(total == 4 for _, total in calls)


# ---------------------------------------------------------------------------------------------- reading
def test_the_shared_date_grid_reads_as_series_by_series(tmp_path, monkeypatch):
    df = panel_frame()
    df = df[df["store"] != "gappy"]
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    fast = load_panel(path, id_col="store")
    monkeypatch.setattr(panel_data._SharedGrid, "build", classmethod(lambda cls, *a, **k: None))
    slow = load_panel(path, id_col="store")
    assert fast.ids == slow.ids and fast.notes == slow.notes and fast.skipped == slow.skipped
    for a, b in zip(fast.series, slow.series, strict=True):
        assert np.array_equal(a.values, b.values) and np.array_equal(a.timestamps, b.timestamps)
        assert a.freq == b.freq and a.timestamps.dtype == b.timestamps.dtype


def test_a_gap_in_one_series_is_filled_on_the_shared_grid(tmp_path):
    df = panel_frame()
    df = df.drop(df.index[(df["store"] == "north")][10])  # one month missing
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    panel = load_panel(path, id_col="store")
    north = panel.series[panel.ids.index("north")]
    assert len(north.values) == 60 and np.all(
        np.diff(north.timestamps.astype("datetime64[M]")).astype(int) == 1
    )
    assert any("Filled 1 missing value" in n for n in panel.notes)


def _guerrero_reference(y, season):
    """Guerrero's lambda one grid value at a time (the loop the vectorised version replaced)."""
    period = max(season, 2)
    blocks = len(y) // period
    if blocks < 2:
        return 1.0
    x = y[len(y) - blocks * period :].reshape(blocks, period)
    mean, sd = x.mean(axis=1), x.std(axis=1, ddof=1)
    if np.any(mean <= 0) or not np.any(sd > 0):
        return 1.0
    best, best_cv = 1.0, math.inf
    for lam in np.linspace(0.0, 1.0, 21):
        ratio = sd / mean ** (1.0 - lam)
        cv = float(np.std(ratio, ddof=1) / np.mean(ratio)) if np.mean(ratio) > 0 else math.inf
        if cv < best_cv - 1e-12:
            best, best_cv = float(lam), cv
    return best


def test_guerrero_lambda_is_the_one_value_at_a_time_answer():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n, m = int(rng.integers(4, 200)), int(rng.choice([1, 4, 12]))
        y = np.exp(rng.normal(rng.uniform(-2, 8), rng.uniform(0.01, 1.5), n)) * (1 + 0.02 * np.arange(n))
        assert guerrero_lambda(y, m) == _guerrero_reference(y, m)
    assert guerrero_lambda(np.full(24, 5.0), 12) == 1.0  # no spread: no transform


def test_forecaster_single_series_unchanged_by_panel_batches(fitted):
    # a series of the panel is still a Forecaster whose predict runs series by series
    model = fitted.forecaster(fitted.ids_[0])
    assert isinstance(model, Forecaster) and np.isfinite(model.predict(3).values).all()
