"""Large panels (issue #20), continued: the blocks of forecasts and of the baselines' validation spread
over worker processes (the same bits with one worker or two), and early stopping's patience when
epochs are samples of a larger pool."""

import numpy as np
import pytest

from lstmcli.data.panel import load_panel
from lstmcli.forecasting import executors, panel_batch
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.members import MIN_SAMPLED_PATIENCE, sampled_patience
from lstmcli.forecasting.panel import PanelForecaster
from tests.test_panel import panel_frame

CFG = ForecasterConfig(epochs=4, hidden=6, ensemble=3, patience=0)


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("blocks") / "stores.csv"
    panel_frame().to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------------------------- blocks
def test_one_worker_or_two_give_the_same_model_and_forecasts(tmp_path, panel_csv, monkeypatch):
    """Blocks of a few windows (a 20,000-series panel's 8,192 in small) and of a few series for the
    baselines' validation forecasts, fixed by the data: the model file and the forecasts are the same
    bytes whether the blocks ran here or in two worker processes, and with two they did run there."""
    monkeypatch.setattr(panel_batch, "BATCH_WINDOWS", 3)
    monkeypatch.setattr(panel_batch, "BASELINE_SERIES", 3)
    sent = []
    real_map = executors.Processes.map

    def spy(self, fn, items, **kwargs):
        sent.append((fn.__name__, len(items)))
        return real_map(self, fn, items, **kwargs)

    monkeypatch.setattr(executors.Processes, "map", spy)
    out = {}
    for threads in (1, 2):
        model = PanelForecaster(CFG, mode="global").fit(
            load_panel(panel_csv, id_col="store"), threads=threads
        )
        model.save(tmp_path / f"t{threads}.npz")
        again = PanelForecaster.load(tmp_path / f"t{threads}.npz")
        out[threads] = (
            (tmp_path / f"t{threads}.npz").read_bytes(),
            again.predict(levels=(80,), threads=threads),
        )
    assert any(name == "_forecast_block" and k > 1 for name, k in sent)  # validation, in blocks
    assert any(name == "_baseline_block" and k > 1 for name, k in sent)  # its baselines: 4 series, 3 a block
    assert any(name == "_predict_block" and k > 1 for name, k in sent)  # predict: 4 series, blocks of 3
    assert out[1][0] == out[2][0]
    for sid, one in out[1][1].items():
        two = out[2][1][sid]
        assert np.array_equal(one.values, two.values)
        assert np.array_equal(one.intervals[80][0], two.intervals[80][0])


def test_blocks_without_worker_processes_run_here(panel_csv, monkeypatch):
    """Where no process can be started (a sandbox), the blocks run in the calling process."""
    monkeypatch.setattr(panel_batch, "BATCH_WINDOWS", 3)
    monkeypatch.setattr(panel_batch, "BASELINE_SERIES", 3)

    def refuse(self, fn, items, **kwargs):
        raise executors.WorkersUnavailable("no semaphores")

    data = load_panel(panel_csv, id_col="store")
    here = PanelForecaster(CFG, mode="global").fit(data, threads=1).predict()
    monkeypatch.setattr(executors.Processes, "map", refuse)
    model = PanelForecaster(CFG, mode="global").fit(data, threads=2)
    for sid, f in model.predict(threads=2).items():
        assert np.array_equal(f.values, here[sid].values)


# ---------------------------------------------------------------------------------------------- patience
@pytest.mark.parametrize(
    ("patience", "pool", "sample", "want"),
    [
        (30, 96_000, 1 << 17, 30),  # the M3 monthly pool: no sampling, unchanged
        (30, 1 << 17, 1 << 17, 30),  # exactly the sample: unchanged
        (30, 200_000, 1 << 17, 20),  # 30 * 131072 / 200000 = 19.7, up
        (30, 800_000, 1 << 17, MIN_SAMPLED_PATIENCE),  # 4.9: the floor
        (5, 800_000, 1 << 17, 5),  # never more than asked
        (0, 800_000, 1 << 17, 0),  # off stays off
        (30, 800_000, 0, 30),  # every window each epoch
    ],
)
def test_sampled_patience(patience, pool, sample, want):
    assert sampled_patience(patience, pool, sample) == want


def _stopped_after(epoch_windows: int) -> int:
    """Epochs run past the best one by a small network on noise, 400 windows, patience 30."""
    from lstmcli.forecasting.ensemble import MemberSet, Progress, train_members

    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(400, 4, 1)), rng.normal(size=(400, 1))
    xv, tv = rng.normal(size=(40, 4, 1)), rng.normal(size=(40, 1))
    cfg = ForecasterConfig(epochs=300, hidden=3, ensemble=1, patience=30, lr=0.05)
    _, results, _ = train_members(
        cfg, [MemberSet(x, t, xv, tv, 4)], epochs=[300], patience=30, progress=Progress(None, 300, 1),
        should_stop=None, cores=1, epoch_windows=epoch_windows,
    )  # fmt: skip
    (r,) = results
    assert r.stop_reason == "early_stopping"
    return r.epochs_run - r.best_epoch


def test_sampled_epochs_stop_sooner_and_full_epochs_keep_their_patience():
    assert _stopped_after(0) == 30  # every window each epoch: the patience asked
    assert _stopped_after(40) == MIN_SAMPLED_PATIENCE  # 30 * 40 / 400 = 3 -> the floor
