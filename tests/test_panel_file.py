"""The panel model file (issue #19): format 1.4 keeps each series' state in arrays keyed by series, files
of format 1.3 still load, and saving refuses what loading would refuse."""

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lstmcli import npzfile, panelfile
from lstmcli.errors import LstmcliError, ModelFileError
from lstmcli.forecasting.panel import PanelForecaster

FIXTURES = Path(__file__).parent / "fixtures"
# forecasts of the 1.3 fixtures (tests/test_panel.py's panel_frame, epochs 2, hidden 4, ensemble 2, seed 0)
# when they were written by the lstmcli of format 1.3, three steps per series in id order
V13_FORECASTS = {
    "global": [[140.2402, 140.0561, 139.797], [116.5597, 122.264, 125.514],
               [166.0176, 165.7779, 165.396], [163.3527, 165.9661, 164.6822]],
    "local": [[140.1713, 139.8907, 139.4927], [116.5324, 122.1938, 125.3936],
              [165.6985, 165.2103, 164.6048], [163.3275, 165.9083, 164.5848]],
}  # fmt: skip


def metadata_of(path: Path) -> tuple[dict, int]:
    """The metadata JSON and the size of its .npy entry (what the loader bounds)."""
    with zipfile.ZipFile(path) as z:
        size = z.getinfo("metadata.npy").file_size
    with np.load(path, allow_pickle=False) as arrays:
        return json.loads(str(arrays["metadata"])), size


@pytest.mark.parametrize("mode", ["global", "local"])
def test_a_format_1_3_file_loads_and_saves_as_the_current_format_with_the_same_forecasts(tmp_path, mode):
    old = PanelForecaster.load(FIXTURES / f"panel_v1_3_{mode}.npz")
    assert old.state_.format_version == "1.3" and old.mode == mode
    forecasts = old.predict(3, levels=(80,))
    got = [forecasts[k].values for k in old.ids_]
    np.testing.assert_allclose(got, V13_FORECASTS[mode], atol=1e-4)

    old.save(tmp_path / "new.npz")
    new = PanelForecaster.load(tmp_path / "new.npz")
    assert new.state_.format_version == "4.0" and new.ids_ == old.ids_
    again = new.predict(3, levels=(80,))
    for k in old.ids_:
        np.testing.assert_array_equal(again[k].values, forecasts[k].values)
        np.testing.assert_array_equal(again[k].intervals[80][1], forecasts[k].intervals[80][1])
        np.testing.assert_array_equal(again[k].timestamps, forecasts[k].timestamps)
    for a, b in zip(old.state_.states, new.state_.states, strict=True):
        assert a.validation == b.validation and a.n_obs == b.n_obs
        np.testing.assert_array_equal(a.validation_origins, b.validation_origins)
        assert dataclasses.replace(a.train_result, seconds=0.0, history=[]) == dataclasses.replace(
            b.train_result, seconds=0.0, history=[]
        )
    meta, _ = metadata_of(tmp_path / "new.npz")
    assert "series" not in meta["panel"]  # the per-series state is in arrays now
    new.save(tmp_path / "again.npz")
    assert (tmp_path / "new.npz").read_bytes() == (tmp_path / "again.npz").read_bytes()


@pytest.mark.parametrize("mode", ["global", "local"])
def test_the_metadata_does_not_grow_with_what_each_series_holds(tmp_path, mode):
    model = PanelForecaster.load(FIXTURES / f"panel_v1_3_{mode}.npz")
    st = model.state_
    sizes = {}
    for n in (4, 60):  # the same four series over and over, under distinct ids
        model.state_ = dataclasses.replace(
            st, ids=[f"s{k:03d}" for k in range(n)], states=[st.states[k % 4] for k in range(n)]
        )
        model.save(tmp_path / f"{n}.npz")
        sizes[n] = len(str(np.load(tmp_path / f"{n}.npz")["metadata"]))
    # per series beyond the first four: its id and its row of pool indices (some 20 characters); its
    # origins, validation table and training numbers are array rows (in 1.3: some 800 characters)
    assert (sizes[60] - sizes[4]) / 56 < 40
    assert PanelForecaster.load(tmp_path / "60.npz").ids_[-1] == "s059"


def test_saving_refuses_metadata_that_loading_would_refuse_and_keeps_the_old_file(tmp_path, monkeypatch):
    model = PanelForecaster.load(FIXTURES / "panel_v1_3_global.npz")
    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()
    _, size = metadata_of(path)
    monkeypatch.setattr(panelfile, "_MAX_METADATA_BYTES", size)  # exactly enough: written and read
    model.save(path)
    PanelForecaster.load(path)
    monkeypatch.setattr(panelfile, "_MAX_METADATA_BYTES", size - 1)
    with pytest.raises(ModelFileError, match=r"^m.npz: entry metadata.npy is implausibly large"):
        PanelForecaster.load(path)  # what loading refuses ...
    with pytest.raises(LstmcliError, match=r"m.npz: not written: its metadata would take .* split the") as e:
        model.save(path)  # ... saving refuses, in one line, before anything is written
    assert "\n" not in str(e.value) and "(4 series)" in str(e.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left


def test_saving_refuses_a_file_larger_than_loading_reads(tmp_path, monkeypatch):
    model = PanelForecaster.load(FIXTURES / "panel_v1_3_local.npz")
    monkeypatch.setattr(npzfile, "MAX_INPUT_BYTES", 10_000)
    with pytest.raises(LstmcliError, match=r"m.npz: not written: the file would be .* more than the 9.8 KiB"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize(
    ("key", "change", "message"),
    [
        ("panel.n_obs", lambda a: a[:-1], r"panel.n_obs has shape \(3,\), expected \(4,\)"),
        ("panel.pool_index", lambda a: a + 100, r"panel.pool_index must index the"),
        (
            "panel.origins_offsets",
            lambda a: a[::-1].copy(),
            r"panel.origins_offsets must be 5 non-decreasing",
        ),
        ("panel.metrics", lambda a: a[:, :1], r"panel.metrics has shape"),
        ("panel.level_alpha", lambda a: a.astype(np.float32), r"panel.level_alpha has dtype float32"),
    ],
)
def test_damaged_per_series_arrays_are_one_line(tmp_path, key, change, message):
    PanelForecaster.load(FIXTURES / "panel_v1_3_global.npz").save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays[key] = change(arrays[key])
    (tmp_path / "bad.npz").write_bytes(npzfile.npz_bytes(arrays))
    with pytest.raises(ModelFileError, match=r"^bad.npz: " + message) as e:
        PanelForecaster.load(tmp_path / "bad.npz")
    assert "\n" not in str(e.value)


# forecasts of tests/fixtures/panel_v1_4_theta_global.npz (panel_frame, TINY, global, seed 0), written by
# commit d9d0de2 (format 1.4: four baselines of six numbers each, the default combining with Theta alone)
V14_THETA = {
    "east": [140.1592856992, 140.0895332578, 140.0573855215],
    "north": [116.8707373808, 122.7142635742, 126.1438759032],
    "south": [165.8068191206, 165.6453671011, 165.5116835107],
    "west": [162.9096318733, 165.6018337387, 164.4485788198],
}
V14_THETA_METHOD = {
    "east": [140.4064240081, 140.5297177229, 140.6530114377],
    "north": [117.1796037363, 123.1450262658, 126.6959313279],
    "south": [166.041112641, 166.1108295007, 166.1805463605],
    "west": [162.5730170075, 165.3737249198, 164.3292774735],
}


def _an_older_panel_forecasts_as_it_did(tmp_path, name, version, combine, expected):
    """The fixture ``name`` loads as ``version`` with ``combine``, forecasts 3 steps by each method as
    ``expected`` ({method: {id: values}}) says it did, and saved again is a current file that forecasts
    the same by each."""
    old = PanelForecaster.load(FIXTURES / name)
    assert old.state_.format_version == version and old.state_.first.config.combine == combine
    for method, by_id in expected.items():
        got = old.predict(3, method=method)
        for k in old.ids_:
            np.testing.assert_allclose(got[k].values, by_id[k], rtol=1e-9)
    old.save(tmp_path / "new.npz")
    new = PanelForecaster.load(tmp_path / "new.npz")
    assert new.state_.format_version == "4.0"
    for method in expected:
        for k in old.ids_:
            np.testing.assert_array_equal(
                new.predict(3, method=method)[k].values, old.predict(3, method=method)[k].values
            )
    return old, new


def test_a_panel_file_with_the_baselines_of_format_1_4_forecasts_as_it_did(tmp_path):
    old, new = _an_older_panel_forecasts_as_it_did(
        tmp_path,
        "panel_v1_4_theta_global.npz",
        "1.4",
        "theta",
        {"lstm": V14_THETA, "theta": V14_THETA_METHOD},
    )
    assert sorted(old.state_.first.baselines) == ["Naive", "Naive2", "Seasonal naive", "Theta"]
    assert new.state_.first.baselines["Theta"].to_dict() == old.state_.first.baselines["Theta"].to_dict()


# forecasts of tests/fixtures/panel_v2_0_global.npz (sample_data/monthly_panel.csv, --global --epochs 3
# --hidden 4 --ensemble 1 --seed 0), written by commit cf83edf (format 2.0: ES on the adjusted series)
V20 = {
    "air_passengers": [441.5428578806, 424.9037784628, 486.8771838059],
    "ice_cream": [130.6804730758, 134.6437582634, 136.484891407],
    "us_accidental_deaths": [8321.2491436739, 7550.1148103089, 8364.2756658862],
    "us_electricity_gas": [118.0544275011, 110.1242732139, 98.7051401917],
}
V20_ES = {
    "air_passengers": [442.587809979, 431.8699427007, 494.8772372679],
    "ice_cream": [131.3765350368, 136.1461875383, 139.71341079],
    "us_accidental_deaths": [8276.175887134, 7518.7283833992, 8338.3481651674],
    "us_electricity_gas": [117.9571432127, 110.2226556955, 99.1605718604],
}


# forecasts of tests/fixtures/panel_v3_0_global.npz (the same command), written by commit 7dac1f8 (format
# 3.0: ES's Holt-Winters on the logarithms, before ARIMA)
V30 = {
    "air_passengers": [442.3927143562, 426.3595662211, 489.2708012583],
    "ice_cream": [129.4388817776, 132.6907132976, 133.3457108998],
    "us_accidental_deaths": [8315.6324477058, 7545.0121624227, 8358.6167761817],
    "us_electricity_gas": [118.1454852747, 110.2093603001, 98.7816878314],
}
V30_ES = {
    "air_passengers": [445.1373794058, 436.2373059758, 502.0580896252],
    "ice_cream": [127.6517611421, 130.287052641, 130.2958692685],
    "us_accidental_deaths": [8259.3257992296, 7503.4204397406, 8321.371496054],
    "us_electricity_gas": [118.2303165333, 110.4779169543, 99.3902147795],
}


def test_a_panel_file_of_format_3_0_forecasts_as_it_did(tmp_path):
    old, new = _an_older_panel_forecasts_as_it_did(
        tmp_path, "panel_v3_0_global.npz", "3.0", "theta+es", {"lstm": V30, "es": V30_ES}
    )
    assert old.state_.first.baselines["ES"].log and new.state_.first.baselines["ES"].log
    assert "ARIMA" not in new.state_.first.baselines


def test_a_panel_file_of_format_2_0_forecasts_as_it_did(tmp_path):
    old, new = _an_older_panel_forecasts_as_it_did(
        tmp_path, "panel_v2_0_global.npz", "2.0", "theta+es", {"lstm": V20, "es": V20_ES}
    )
    assert not old.state_.first.baselines["ES"].log and not new.state_.first.baselines["ES"].log
