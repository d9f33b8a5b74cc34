"""Static features of a global panel (issue #19): columns constant within each series, encoded once (text
one-hot, numbers standardised), fed to the shared network at every step, kept in the model file."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data.panel import load_panel
from lstmcli.errors import ConfigError, DataError, ModelFileError
from lstmcli.forecasting.panel import PanelForecaster
from lstmcli.forecasting.static import StaticEncoding
from tests.test_panel import TINY, TINY_CLI, panel_frame

runner = CliRunner()
REGION = {"north": "N", "east": "E", "west": "W", "south": "N", "flat": "E", "stub": "E", "gappy": "W"}
SIZE = {"north": 3.0, "east": 1.0, "west": 2.0, "south": 6.0, "flat": 1.0, "stub": 1.0, "gappy": 1.0}


def static_frame(seed: int = 0):
    frame = panel_frame(seed)
    frame["region"] = frame.store.map(REGION)
    frame["size"] = frame.store.map(SIZE)
    return frame


@pytest.fixture(scope="module")
def static_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("static") / "stores.csv"
    static_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(static_csv) -> PanelForecaster:
    panel = load_panel(static_csv, id_col="store", static=("region", "size"))
    return PanelForecaster(TINY, mode="global").fit(panel)


# ---------------------------------------------------------------------------------------------- reading
def test_each_kept_series_has_its_static_values(static_csv):
    panel = load_panel(static_csv, id_col="store", static=("region", "size"))
    assert panel.ids == ("east", "north", "south", "west") and panel.target == "sales"  # size: not the target
    assert panel.static["region"].tolist() == ["E", "N", "N", "W"]
    assert panel.static["size"].dtype == np.float64 and panel.static["size"].tolist() == [1.0, 3.0, 6.0, 2.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.__setitem__("region", f.region.where(f.index != 5, "X")),
         r"column 'region' changes within series 'north' \('N' on line 2, 'X' on line 7\); a static feature "
         r"must be constant within each series"),
        (lambda f: f.__setitem__("size", f["size"].where(f.index != 70, np.nan)),
         r"line 72, column 'size': the static feature of series 'east' is missing"),
    ],
)  # fmt: skip
def test_a_static_value_that_changes_or_is_missing_is_one_line(tmp_path, change, message):
    frame = static_frame()
    change(frame)
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=message) as e:
        load_panel(tmp_path / "bad.csv", id_col="store", static=("region", "size"))
    assert "\n" not in str(e.value)


def test_an_unknown_static_column_is_named_before_anything_else(static_csv):
    with pytest.raises(
        DataError, match=r"static feature column 'regio' not found \(did you mean 'region'\?\)"
    ):
        load_panel(static_csv, id_col="store", static=("regio",))


# ---------------------------------------------------------------------------------------------- encoding
def test_categories_are_one_hot_and_numbers_standardised():
    values = {"region": np.array(["N", "E", "N", "W"]), "size": np.array([1.0, 3.0, 6.0, 2.0])}
    enc = StaticEncoding.fit(values)
    assert enc.names == ["region=E", "region=N", "region=W", "size"]
    x = enc.encode(values)
    np.testing.assert_array_equal(x[:, :3], [[0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    size = np.array([1.0, 3.0, 6.0, 2.0])  # mean 3, population spread sqrt(3.5)
    np.testing.assert_allclose(x[:, 3], (size - 3.0) / np.sqrt(3.5))
    unseen = enc.encode({"region": np.array(["S"]), "size": np.array([3.0])})
    np.testing.assert_array_equal(unseen, [[0, 0, 0, 0]])  # a category never seen: no input on
    assert StaticEncoding.from_dict(json.loads(json.dumps(enc.to_dict())), "m.npz") == enc
    with pytest.raises(ModelFileError, match=r"^m.npz: metadata field 'panel.static' is not a list"):
        StaticEncoding.from_dict([{"name": "size", "kind": "number", "mean": 0.0, "scale": 0.0}], "m.npz")


# ---------------------------------------------------------------------------------------------- model
def test_the_network_reads_them_at_every_step_and_forecasts_depend_on_them(fitted):
    st = fitted.state_
    assert st.first.network.config.input_size == 1 + 4
    north = fitted.forecaster("north")
    np.testing.assert_array_equal(north.state_.preprocessing.static[:3], [0, 1, 0])  # region=N
    inputs = north.trace().inputs  # (lookback, 1 + 4): the static columns the same at every step
    assert inputs.shape[1] == 5 and np.all(inputs[:, 1:] == inputs[0, 1:])
    before, own = north.predict(6).values, north.state_.preprocessing.static
    north.state_.preprocessing.static = fitted.forecaster("west").state_.preprocessing.static
    try:
        after = north.predict(6).values
    finally:
        north.state_.preprocessing.static = own
    assert not np.allclose(before, after)  # its static inputs are used when forecasting


def test_model_file_keeps_the_encoding_and_each_series_inputs(tmp_path, fitted):
    fitted.save(tmp_path / "m.npz")
    loaded = PanelForecaster.load(tmp_path / "m.npz")
    assert loaded.state_.static == fitted.state_.static
    a, b = fitted.predict(5, levels=(80,)), loaded.predict(5, levels=(80,))
    for k in a:
        np.testing.assert_array_equal(a[k].values, b[k].values)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        rows = z["panel.static"]
        meta = json.loads(str(z["metadata"]))
    assert rows.shape == (4, 4) and [c["name"] for c in meta["panel"]["static"]] == ["region", "size"]
    loaded.save(tmp_path / "again.npz")
    assert (tmp_path / "m.npz").read_bytes() == (tmp_path / "again.npz").read_bytes()


def test_the_order_of_the_series_in_the_file_never_changes_the_model(tmp_path, fitted):
    shuffled = tmp_path / "stores.csv"  # the same name: a model file records its data file's name
    static_frame().sample(frac=1.0, random_state=11).to_csv(shuffled, index=False)
    other = PanelForecaster(TINY, mode="global").fit(
        load_panel(shuffled, id_col="store", static=("region", "size"))
    )
    fitted.save(tmp_path / "a.npz")
    other.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_local_models_refuse_static_features(static_csv):
    panel = load_panel(static_csv, id_col="store", static=("region", "size"))
    with pytest.raises(ConfigError, match=r"static features are for one model across the series"):
        PanelForecaster(TINY, mode="local").fit(panel)


# ---------------------------------------------------------------------------------------------- commands
def test_cli_train_and_predict_with_static_features(tmp_path, static_csv):
    model = tmp_path / "m.npz"
    args = ["train", str(static_csv), "--id-col", "store", "--global", "--static-features", "region, size"]
    r = runner.invoke(app, [*args, "-m", str(model), *TINY_CLI, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["static_features"] == ["region=E", "region=N", "region=W", "size"]
    r = runner.invoke(app, ["predict", "-m", str(model), "--data", str(static_csv), "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == "store,date,forecast" and len(r.stdout.splitlines()) == 1 + 4 * 12
    assert "static features" not in r.stderr and "Ignored" not in r.stderr  # (the same values)
    # a newer file that gives a store another region or size: the model's are used, and said so (they
    # were ignored without a word: "Ignored columns 'region', 'size'")
    for column, value, said in (("region", "W", "region 'W' in moved.csv, 'N' in the model"),
                                ("size", 4.5, "size 4.5 in moved.csv, 3 in the model")):  # fmt: skip
        moved = static_frame()
        moved.loc[moved.store == "north", column] = value
        moved.to_csv(tmp_path / "moved.csv", index=False)
        r = runner.invoke(
            app, ["predict", "-m", str(model), "--data", str(tmp_path / "moved.csv"), "--format", "csv"]
        )
        assert r.exit_code == 0, r.output
        note = " ".join(r.stderr.split())
        assert f"1 series (north) has static features other than the model's (series 'north': {said})" in note
        assert "forecast with the model's, as it was trained; retrain to change them" in note
    # a newer file without the static columns: the model's, nothing to say
    static_frame().drop(columns=["region", "size"]).to_csv(tmp_path / "bare.csv", index=False)
    r = runner.invoke(
        app, ["predict", "-m", str(model), "--data", str(tmp_path / "bare.csv"), "--format", "csv"]
    )
    assert r.exit_code == 0 and "static features" not in r.stderr, r.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--id-col", "store", "--static-features", "region"], "--static-features feed one network across the series: add --global"),
        (["--static-features", "region"], "--static-features is for many series: give the id column with --id-col"),
        (["--id-col", "store", "--global", "--static-features", ","], "--static-features: give column names"),
        (["--id-col", "store", "--global", "--static-features", "store"], "'store' is also the id, target or time"),
    ],
)  # fmt: skip
def test_cli_static_feature_errors_are_one_line(tmp_path, static_csv, extra, message):
    r = runner.invoke(app, ["train", str(static_csv), "-m", str(tmp_path / "m.npz"), *extra, *TINY_CLI])
    # options no data could make right: usage errors (2); a column the file has in another role: 1
    assert r.exit_code == (1 if "also the id" in message else 2), r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], r.stderr
    assert not (tmp_path / "m.npz").exists()


def test_the_api_takes_static_values_aligned_with_a_list_of_series(static_csv, fitted):
    panel = load_panel(static_csv, id_col="store", target="sales")  # static values given by the caller
    order = [3, 1, 0, 2]  # any order of the list: the model is fitted in id order
    ids = [panel.ids[k] for k in order]
    static = {"region": [REGION[i] for i in ids], "size": [int(SIZE[i]) for i in ids]}
    model = PanelForecaster(TINY, mode="global").fit([panel.series[k] for k in order], ids=ids, static=static)
    a, b = model.predict(4), fitted.predict(4)
    for sid in panel.ids:
        np.testing.assert_array_equal(a[sid].values, b[sid].values)
    with pytest.raises(ConfigError, match=r"static feature 'size': give one value per series \(4\)"):
        PanelForecaster(TINY, mode="global").fit(
            list(panel.series), ids=list(panel.ids), static={"size": [1, 2]}
        )
    with pytest.raises(ConfigError, match=r"a Panel brings its own static features"):
        PanelForecaster(TINY, mode="global").fit(panel, static={"size": [1, 2, 3, 4]})


def test_cli_backtest_with_static_features(tmp_path):
    """`backtest --id-col --global --static-features`: the global model reads them (its forecasts differ
    from the same backtest's without them); the errors are train's."""
    frame = static_frame()
    frame = frame[frame.store.isin(["north", "east", "west", "south"])]
    path = tmp_path / "stores.csv"
    frame.to_csv(path, index=False)
    # --combine none: the networks' own forecasts (auto would combine with Theta only without them)
    common = ["backtest", str(path), "--id-col", "store", "--global", "--horizon", "6", "--combine", "none"]
    common += [*TINY_CLI, "--format", "json"]
    with_static = runner.invoke(app, [*common, "--static-features", "region,size"])
    assert with_static.exit_code == 0, with_static.output
    without = runner.invoke(app, [*common, "--target", "sales"])  # else 'size' could be the target
    assert without.exit_code == 0, without.output
    a, b = json.loads(with_static.stdout), json.loads(without.stdout)
    assert a["per_series"] != b["per_series"]  # the static features changed the model's forecasts
    for extra, message in [
        (
            ["--static-features", "region"],
            "--static-features feed one network across the series: add --global",
        ),
        (["--global", "--static-features", "nope"], "nope"),
    ]:
        r = runner.invoke(
            app, ["backtest", str(path), "--id-col", "store", "--horizon", "6", *extra, *TINY_CLI]
        )
        assert r.exit_code == (2 if "--global" not in extra else 1), r.output
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], r.stderr
    r = runner.invoke(
        app, ["backtest", str(path), "--horizon", "6", "--static-features", "region", *TINY_CLI]
    )
    assert r.exit_code == 2 and "--static-features is for many series" in r.stderr


def test_inspect_names_the_static_inputs_beside_their_values(fitted):
    """The window's input rows held the static columns, but their names were left out (6 values, 1 name)."""
    trace = fitted.forecaster("north").trace()
    names = StaticEncoding(tuple(fitted.state_.static)).names
    assert trace.input_names == ["sales (transformed)", *names]
    assert trace.inputs.shape[1] == len(trace.input_names)
