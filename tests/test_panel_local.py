"""Local models of a panel (issue #19, second part): `train --id-col --local`, one single-series ensemble
per series, fanned out over worker processes, in one panel model file."""

import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data.panel import load_panel
from lstmcli.errors import ConfigError, ModelFileError
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.forecasting.panel import PanelForecaster
from lstmcli.npzfile import npz_bytes
from tests.test_panel import DATA, TINY, TINY_CLI, panel_csv, panel_frame  # noqa: F401  (fixture)

runner = CliRunner()


@pytest.fixture(scope="module")
def local(panel_csv) -> PanelForecaster:  # noqa: F811
    return PanelForecaster(TINY, mode="local").fit(load_panel(panel_csv, id_col="store"), threads=1)


def test_each_series_is_its_own_single_series_model(panel_csv, local):  # noqa: F811
    panel = load_panel(panel_csv, id_col="store")
    assert local.ids_ == ["east", "north", "south", "west"] and local.state_.mode == "local"
    assert PanelForecaster().mode == "local"  # the default, as on the command line
    assert local.skipped_ == [("flat", "constant"), ("gappy", "mostly missing"), ("stub", "too short")]
    nets = {id(local.forecaster(sid).state_.ensemble) for sid in local.ids_}
    assert len(nets) == 4  # no shared ensemble
    k = panel.ids.index("south")
    single = Forecaster(replace(TINY, season=12, horizon=12)).fit(panel.series[k])
    alone = single.predict(6).values  # a lone model forecasts in NumPy, a panel's series compiled:
    single.compiled_forecasts = True  # the same weights give the same bits on the same engine
    np.testing.assert_array_equal(single.predict(6).values, local.predict(6, ids=["south"])["south"].values)
    np.testing.assert_allclose(alone, single.predict(6).values, rtol=1e-5)


def test_model_file_round_trip_keeps_every_series_weights(tmp_path, local):
    local.save(tmp_path / "m.npz")
    loaded = PanelForecaster.load(tmp_path / "m.npz")
    assert loaded.mode == "local" and loaded.ids_ == local.ids_ and loaded.state_.format_version == "4.0"
    a, b = local.predict(5, levels=(80,)), loaded.predict(5, levels=(80,))
    for k in a:
        np.testing.assert_array_equal(a[k].values, b[k].values)
        np.testing.assert_array_equal(a[k].intervals[80][1], b[k].intervals[80][1])
    loaded.save(tmp_path / "again.npz")
    assert (tmp_path / "m.npz").read_bytes() == (tmp_path / "again.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        names = set(z.namelist())
    assert {
        "series.0.lstm.weight_ih_l0.npy",
        "series.3.head.bias.npy",
        "series.2.ensemble.1.head.weight.npy",
    } <= names
    assert not any(n.startswith(("lstm.", "head.", "ensemble.")) for n in names)  # nothing is shared
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        meta = json.loads(str(z["metadata"]))
    assert meta["panel"]["mode"] == "local" and "network" in meta["panel"]["pooled"]


def test_a_global_file_has_no_mode_and_reads_as_global(tmp_path, panel_csv):  # noqa: F811
    model = PanelForecaster(TINY, mode="global").fit(load_panel(panel_csv, id_col="store"))
    model.save(tmp_path / "g.npz")
    with np.load(tmp_path / "g.npz", allow_pickle=False) as z:
        assert "mode" not in json.loads(str(z["metadata"]))["panel"]  # its bytes are what they were
    assert PanelForecaster.load(tmp_path / "g.npz").mode == "global"


def test_the_same_file_with_one_thread_or_two(tmp_path, panel_csv, local):  # noqa: F811
    two = PanelForecaster(TINY, mode="local").fit(load_panel(panel_csv, id_col="store"), threads=2)
    local.save(tmp_path / "one.npz")
    two.save(tmp_path / "two.npz")
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()


def test_progress_counts_series_and_a_stop_keeps_the_series_done(tmp_path, panel_csv):  # noqa: F811
    seen = []
    model = PanelForecaster(TINY, mode="local").fit(
        load_panel(panel_csv, id_col="store"), threads=1, on_series=lambda d, n: seen.append((d, n)),
        should_stop=lambda: len(seen) > 2,
    )  # fmt: skip
    assert seen == [(0, 4), (1, 4), (2, 4)]
    assert model.ids_ == ["east", "north"] and model.train_result_.stop_reason == "interrupted"
    assert ("south", "not trained (interrupted)") in model.skipped_
    model.save(tmp_path / "stopped.npz")
    assert PanelForecaster.load(tmp_path / "stopped.npz").train_result_.stop_reason == "interrupted"


def test_a_stop_reaches_the_series_being_trained_which_is_left_out(panel_csv):  # noqa: F811
    """A Ctrl-C was asked only between series: each series begun trained to its last epoch (100,000 in a
    walk-through: minutes), and a second Ctrl-C waited for the worker processes. The stop is asked at
    every batch now; the series it stops is left out, as the series not begun are."""
    from lstmcli.forecasting.panel_local import _fit_chunk

    panel = load_panel(panel_csv, id_col="store")
    polls = []

    def stop() -> bool:
        polls.append(1)
        return len(polls) > 3  # (the first poll is before the series; the next ones within its training)

    assert _fit_chunk((TINY, False, [(0, panel.series[0]), (1, panel.series[1])]), stop) == []
    assert len(polls) == 4


def test_id_selection_and_unknown_id(local):
    one = local.forecaster("west")
    np.testing.assert_array_equal(one.predict(4).values, local.predict(4, ids=["west"])["west"].values)
    assert one.trace().inputs.shape[0] == one.lookback_
    with pytest.raises(ConfigError, match=r"no series 'nowhere' in this model; its store values are: east"):
        local.forecaster("nowhere")


def test_damaged_local_files_are_one_line(tmp_path, local):
    local.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    bad = dict(arrays)
    del bad["series.1.head.weight"]
    (tmp_path / "bad.npz").write_bytes(npz_bytes(bad))
    with pytest.raises(ModelFileError, match=r"^bad.npz: series 'north': ") as e:
        PanelForecaster.load(tmp_path / "bad.npz")
    assert "\n" not in str(e.value)
    extra = dict(arrays) | {"series.9.head.bias": arrays["series.0.head.bias"]}
    (tmp_path / "extra.npz").write_bytes(npz_bytes(extra))
    with pytest.raises(ModelFileError, match=r"^extra.npz: unexpected entry 'series.9.head.bias'"):
        PanelForecaster.load(tmp_path / "extra.npz")
    meta = json.loads(str(arrays["metadata"]))
    meta["panel"]["mode"] = "sideways"
    (tmp_path / "mode.npz").write_bytes(npz_bytes(arrays | {"metadata": np.array(json.dumps(meta))}))
    with pytest.raises(ModelFileError, match=r"^mode.npz: metadata field 'panel.mode' must be"):
        PanelForecaster.load(tmp_path / "mode.npz")


def test_cli_train_local_predict_inspect_backtest(tmp_path, panel_csv):  # noqa: F811
    model = tmp_path / "m.npz"  # local is the default of --id-col (benchmarks/panel_accuracy.py)
    r = runner.invoke(app, ["train", str(panel_csv), "--id-col", "store", "-m", str(model), *TINY_CLI])
    assert r.exit_code == 0, r.output
    assert "one model per series" in r.stdout and "Skipped 3 series" in r.stderr
    assert "4/4 series" in r.stderr  # the progress counts series

    r = runner.invoke(app, ["train", str(panel_csv), "--id-col", "store", "--local", "-m", str(tmp_path / "j.npz"),
                            *TINY_CLI, "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["mode"] == "local" and summary["series"] == 4 and summary["validation"]["LSTM"]["OWA"] > 0

    r = runner.invoke(app, ["predict", "-m", str(model), "--format", "csv", "--horizon", "2"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert (
        lines[0] == "store,date,forecast"
        and len(lines) == 1 + 4 * 2
        and lines[1].startswith("east,2020-07-01,")
    )

    r = runner.invoke(
        app, ["predict", "-m", str(model), "--format", "json", "--id", "north", "--level", "80"]
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["forecast"]
    assert (
        {row["store"] for row in rows} == {"north"}
        and rows[0]["date"] == "2020-01-01"
        and "lower_80" in rows[0]
    )

    r = runner.invoke(app, ["inspect", "-m", str(model), "--id", "west", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["steps"][-1] == "2020-07-01"

    long_file = DATA / "m3_quarterly_first3.csv"
    r = runner.invoke(app, ["backtest", str(long_file), "--id-col", "series_id", "--local", *TINY_CLI,
                            "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "LSTM" in json.loads(r.stdout)["overall"]


@pytest.mark.parametrize("member", [1, 2])
def test_inspect_names_the_weights_of_the_series_it_shows_and_pytorch_reads_them(tmp_path, local, member):
    # it named lstm.*, which a panel of local models does not hold: series K's are series.K.lstm.*
    path = tmp_path / "local.npz"
    local.save(path)
    r = runner.invoke(app, ["inspect", "-m", str(path), "--id", "west", "--member", str(member), "--format", "json",
                            "--units", str(TINY.hidden)])  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    k = local.ids_.index("west")
    assert out["id"] == "west"
    assert out["weights"] == (f"series.{k}.lstm" if member == 1 else f"series.{k}.ensemble.1.lstm")
    torch = pytest.importorskip("torch")  # the README's snippet, with the name inspect gave
    weights = out["weights"]
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["metadata"]))["network"]
        lstm = torch.nn.LSTM(meta["input_size"], meta["hidden_size"], meta["num_layers"], batch_first=True)
        lstm.load_state_dict({key[len(weights) + 1 :]: torch.tensor(z[key]) for key in z.files
                              if key.startswith(weights + ".")})  # fmt: skip
    h, _ = lstm(torch.tensor(np.asarray(out["inputs"], dtype=np.float32))[None])
    np.testing.assert_allclose(h[0].detach().numpy(), out["layers"][-1]["h"], atol=1e-5)


def test_inspect_of_an_id_typed_in_another_unicode_form_names_its_weights(tmp_path, panel_csv):  # noqa: F811
    # the series was found, but its weights' place was looked up by the id as typed: a ValueError
    import unicodedata

    import pandas as pd

    from lstmcli.cli.panels import series_model

    frame = pd.read_csv(panel_csv)
    frame["store"] = frame["store"].replace("west", unicodedata.normalize("NFD", "wést"))
    data = tmp_path / "accents.csv"
    frame.to_csv(data, index=False)
    model = PanelForecaster(TINY, mode="local").fit(load_panel(data, id_col="store"), threads=1)
    model.save(tmp_path / "m.npz")
    _, root = series_model(tmp_path / "m.npz", unicodedata.normalize("NFC", "wést"))
    assert root == f"series.{model.ids_.index(unicodedata.normalize('NFD', 'wést'))}."
