"""Pictures (--plot), output files by extension, decimal levels, inspect --member, and what the terminal
shows at 80 and 120 columns (issue #23)."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from lstmcli.cli import app

REPO = Path(__file__).resolve().parent.parent
AIR = REPO / "sample_data" / "air_passengers.csv"
LONG = REPO / "tests" / "data" / "m3_quarterly_first3.csv"
FAST = ["--epochs", "3", "--hidden", "4", "--ensemble", "2"]


def run(runner: CliRunner, *args):
    return runner.invoke(app, [str(a) for a in args])


def check_picture(path: Path) -> None:
    """The file is a valid PNG of a sensible size, an SVG that parses, or a PDF."""
    data = path.read_bytes()
    if path.suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert 600 <= width <= 2000 and 300 <= height <= 2400, (width, height)
    elif path.suffix == ".svg":
        assert ET.fromstring(data).tag.endswith("svg")
    else:
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")


# ------------------------------------------------------------------------------------------ --plot
@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_predict_draws_the_format_its_extension_names(runner, cwd, trained_model, ext):
    result = run(
        runner, "predict", "-m", trained_model, "--level", "80", "--level", "95", "--plot", f"f.{ext}"
    )
    assert result.exit_code == 0, result.output
    check_picture(cwd / f"f.{ext}")
    assert "picture written to f." in result.stdout
    assert [p.name for p in cwd.iterdir()] == [f"f.{ext}"]  # no temporary file left behind


def test_the_same_picture_gives_the_same_bytes(runner, cwd, trained_model):
    for ext in ("png", "svg", "pdf"):
        for name in ("a", "b"):
            assert run(runner, "predict", "-m", trained_model, "--plot", f"{name}.{ext}").exit_code == 0
        assert (cwd / f"a.{ext}").read_bytes() == (cwd / f"b.{ext}").read_bytes(), ext


def test_backtest_and_inspect_draw(runner, cwd, trained_model):
    result = run(runner, "backtest", AIR, *FAST, "--windows", "2", "--plot", "b.png", "--format", "json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the picture adds nothing to a pipeline's stdout
    check_picture(cwd / "b.png")
    for extra in ([], ["--id", "N0702"]):  # a grid of the first series, or the one --id names
        args = ["backtest", LONG, "--id-col", "series_id", "--season", "4", *FAST, "--plot", "long.svg"]
        result = run(runner, *args, *extra)
        assert result.exit_code == 0, result.output
        check_picture(cwd / "long.svg")
    result = run(runner, "inspect", "-m", trained_model, "--member", "2", "--steps", "5", "--plot", "g.png")
    assert result.exit_code == 0, result.output
    check_picture(cwd / "g.png")
    assert result.stdout.rstrip().endswith("picture written to g.png")  # (as predict and backtest say)


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "-m", "missing.npz", "--plot", "f.jpg"],  # checked before the model is read
        ["backtest", AIR, "--plot", "f.txt"],  # before any training
        ["inspect", "-m", "missing.npz", "--plot", "f"],
    ],
)
def test_a_picture_format_lstmcli_does_not_draw_is_one_line_exit_2(runner, cwd, args):
    result = run(runner, *args)
    assert result.exit_code == 2, result.output  # (a usage error: no data could make it right)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--plot" in lines[0] and ".png, .svg or .pdf" in lines[0]
    assert list(cwd.iterdir()) == []


def test_backtest_id_needs_id_col_and_an_existing_series(runner, cwd):
    result = run(runner, "backtest", AIR, "--id", "x", "--plot", "f.png")
    assert result.exit_code == 2 and "--id-col" in result.stderr
    result = run(runner, "backtest", LONG, "--id-col", "series_id", "--id", "nope", "--plot", "f.png")
    assert result.exit_code == 1 and "--id 'nope': no such series" in result.stderr


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)


def test_without_matplotlib_plot_names_the_extra(tmp_path, trained_model):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"  # as if it were not installed
        f"sys.argv = ['lstmcli', 'predict', '-m', {str(trained_model)!r}, '--plot', 'f.png']\n"
        "from lstmcli.cli import main; main()"
    )
    out = _python(code, tmp_path)
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip() == 'error: --plot needs matplotlib: pip install "lstmcli[plot]"'
    assert not (tmp_path / "f.png").exists()


def test_help_and_commands_without_plot_do_not_import_matplotlib(tmp_path, trained_model):
    for argv in (
        ["--help"],
        ["predict", "-m", str(trained_model), "--format", "json"],
        ["inspect", "-m", str(trained_model)],
    ):
        code = (
            f"import sys; sys.argv = ['lstmcli', *{argv!r}]\n"
            "from lstmcli.cli import main\ntry:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('matplotlib' in sys.modules, file=sys.stderr)"
        )
        out = _python(code, tmp_path)
        assert out.stderr.strip().splitlines()[-1] == "False", (argv, out.stderr)


# ------------------------------------------------------------------------------------------ --output
def test_output_writes_csv_or_json_by_extension_and_refuses_others(runner, cwd, trained_model):
    result = run(runner, "predict", "-m", trained_model, "-o", "f.png")
    assert result.exit_code == 2 and "--output f.png" in result.stderr and "--plot" in result.stderr
    assert not (cwd / "f.png").exists()
    stdout_json = run(runner, "predict", "-m", trained_model, "--level", "80", "--format", "json").stdout
    assert run(runner, "predict", "-m", trained_model, "--level", "80", "-o", "f.json").exit_code == 0
    assert (cwd / "f.json").read_text() == stdout_json
    stdout_csv = run(runner, "predict", "-m", trained_model, "--format", "csv").stdout
    for name in ("f.csv", "forecast"):  # no extension: CSV, as before
        assert run(runner, "predict", "-m", trained_model, "-o", name).exit_code == 0
        assert (cwd / name).read_text() == stdout_csv


def test_levels_may_be_decimals_and_whole_levels_keep_their_names(runner, cwd, trained_model):
    result = run(
        runner, "predict", "-m", trained_model, "--level", "99.5", "--level", "80", "--format", "csv"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "date,forecast,lower_80,upper_80,lower_99.5,upper_99.5"
    payload = json.loads(
        run(runner, "predict", "-m", trained_model, "--level", "80.0", "--format", "json").stdout
    )
    assert payload["levels"] == [80] and "lower_80" in payload["forecast"][0]
    for bad in ("0", "100", "-5", "0.8"):
        assert run(runner, "predict", "-m", trained_model, "--level", bad).exit_code == 2
    fraction = run(runner, "predict", "-m", trained_model, "--level", "0.8")  # darts' way of saying 80 %
    assert "for an 80 % interval give 80" in " ".join(fraction.output.replace("│", " ").split())


# ------------------------------------------------------------------------------------------ inspect
def test_inspect_names_the_member_and_takes_member(runner, cwd, trained_model):
    table = run(runner, "inspect", "-m", trained_model)
    assert table.exit_code == 0 and "member 1 of 5" in table.stdout and "--member K" in table.stdout
    second = run(runner, "inspect", "-m", trained_model, "--member", "2")
    assert "member 2 of 5" in second.stdout and "weights ensemble.1.lstm.*_l0" in second.stdout
    out_of_range = run(runner, "inspect", "-m", trained_model, "--member", "6")
    assert out_of_range.exit_code == 1
    assert out_of_range.stderr.strip() == "error: --member 6 out of range: the model has 5 member(s), 1..5"
    csv1 = run(runner, "inspect", "-m", trained_model, "--format", "csv").stdout
    csv2 = run(runner, "inspect", "-m", trained_model, "--format", "csv", "--member", "2").stdout
    assert csv1 != csv2


def test_inspect_json_honours_steps_units_and_layer(runner, cwd, trained_model):
    result = run(runner, "inspect", "-m", trained_model, "--format", "json", "--steps", "1", "--units", "1")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["member"] == 1 and payload["members"] == 5
    assert len(payload["steps"]) == 1 and payload["units"] == [0] and np.shape(payload["inputs"]) == (1, 1)
    for key in ("i", "f", "g", "o", "c", "h"):
        assert np.shape(payload["layers"][0][key]) == (1, 1)
    assert [row["unit"] for row in payload["summary"]["1"]] == [0]
    picked = json.loads(
        run(runner, "inspect", "-m", trained_model, "--format", "json", "--units", "1,3").stdout
    )
    assert picked["units"] == [1, 3] and np.shape(picked["layers"][0]["h"])[1] == 2
    from lstmcli.forecasting.forecaster import Forecaster

    hidden = Forecaster.load(trained_model).network_.config.hidden_size
    assert picked["hidden"] == hidden  # how many units the layer has, beside those shown


# ------------------------------------------------------------------------------------------ terminal
def render(renderable, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("horizon", [12, 52])
def test_the_forecast_chart_fits_the_terminal(width, horizon):
    from lstmcli.cli.chart import forecast_chart

    rng = np.random.default_rng(0)
    history = 100 + 10 * np.sin(np.arange(2 * horizon) / 2) + rng.normal(0, 1, 2 * horizon)
    forecast = 100 + 10 * np.sin(np.arange(2 * horizon, 3 * horizon) / 2)
    dates = [str(d)[:10] for d in np.arange("2000-01", "2100-01", dtype="datetime64[M]")[: 3 * horizon]]
    chart = forecast_chart(
        history, forecast, width=width, lower=forecast - 5, upper=forecast + 5, labels=dates, level=80
    )
    lines = render(chart, width)
    assert len(lines) == len(chart.plain.splitlines())  # nothing wrapped
    assert max(map(len, lines)) <= width
    text = "\n".join(lines)
    for glyph, words in (
        ("•", "history"),
        ("●", "forecast"),
        ("·", "80% interval"),
        ("┊", "forecast starts"),
    ):
        assert f"{glyph} {words}" in text
    assert dates[0][:7] in text and dates[2 * horizon][:7] in text  # where it starts, where the forecast does
    values = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert len(values) >= 3 and all(v.replace(".", "").isdigit() for v in values)  # a few round values


def test_the_unit_summary_is_one_line_per_unit_in_80_columns():
    from lstmcli.cli.render import unit_summary_table

    roles = [
        "seasonal memory (keeps a season or more)",
        "medium memory (~11 steps)",
        "short memory (mostly the latest steps)",
        "mostly silent (output gate closed)",
    ]
    rows = [
        {"unit": u, "mean_forget": 0.93, "half_life": None if u == 0 else 10.25, "mean_input": 0.5,
         "mean_output": 0.5, "saturation": 1.0, "role": role}
        for u, role in enumerate(roles)
    ]  # fmt: skip
    lines = render(unit_summary_table(rows, 12), 80)
    assert len(lines) == 5 + len(rows) and max(map(len, lines)) <= 80


def test_help_has_no_bool_metavar_and_no_braced_argument(runner):
    for command in ("train", "predict", "inspect", "backtest"):
        result = run(runner, command, "--help")
        assert result.exit_code == 0
        assert "<bool>" not in result.stdout and "{data}" not in result.stdout, command


# ------------------------------------------------------------------------------------------ first run
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "seconds", "shown"), [(True, 0.3, True), (True, 0.0, False), (False, 0.3, False)]
)
def test_first_run_notice_only_when_the_engine_is_slow_to_load_on_a_terminal(
    monkeypatch, tty, seconds, shown
):
    import time

    from lstmcli.cli import common

    err = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(common, "NOTICE_AFTER", 0.05)
    with common.first_run_notice("train"):
        time.sleep(seconds)  # a compile, or a load from a warm cache
    time.sleep(0.1)  # a cancelled notice never comes late
    expected = f"preparing the engine, once: ~{common.COMPILE_SECONDS['train']} s\n" if shown else ""
    assert err.getvalue() == expected


def test_a_picture_never_replaces_an_input(runner, cwd, trained_model):
    (cwd / "model.npz").write_bytes(trained_model.read_bytes())
    (cwd / "picture.png").symlink_to("model.npz")  # a picture's name that leads to the model
    before = (cwd / "model.npz").read_bytes()
    result = run(runner, "predict", "-m", "model.npz", "--plot", "picture.png")
    assert result.exit_code == 1 and "--plot picture.png is the file given as --model" in result.stderr
    assert (cwd / "model.npz").read_bytes() == before


# ------------------------------------------------------------------------------------------ panels
@pytest.fixture(scope="module")
def panel_model(tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("panel") / "panel.npz"
    args = ["train", LONG, "--id-col", "series_id", "--global", "--season", "4", *FAST, "-m", model, "-q"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return model


def captured_figures(monkeypatch, module: str) -> list:
    """The figures ``module`` (a command's module) writes with --plot, written as before."""
    import importlib

    from lstmcli.cli import common

    figures: list = []

    def write_plot(fig, path):
        figures.append(fig)
        common.write_plot(fig, path)

    monkeypatch.setattr(importlib.import_module(module), "write_plot", write_plot)
    return figures


def titles(fig) -> list[str]:
    return [ax.get_title(loc="left") for ax in fig.axes]


def test_predict_of_a_panel_draws_a_grid_or_the_series_id_names(runner, cwd, panel_model, monkeypatch):
    figures = captured_figures(monkeypatch, "lstmcli.cli.predict")
    result = run(runner, "predict", "-m", panel_model, "--level", "80", "--plot", "grid.png")
    assert result.exit_code == 0, result.output
    assert "picture written to grid.png" in result.stdout
    check_picture(cwd / "grid.png")
    assert titles(figures[-1]) == ["series_id N0647", "series_id N0702", "series_id N0762"]
    result = run(runner, "predict", "-m", panel_model, "--id", "N0702", "--level", "80", "--plot", "one.svg")
    assert result.exit_code == 0, result.output
    check_picture(cwd / "one.svg")
    (title,) = titles(figures[-1])
    assert "series_id N0702" in title
    bands = [c for c in figures[-1].axes[0].collections if c.get_label() == "80% prediction interval"]
    assert len(bands) == 1
    result = run(runner, "predict", "-m", panel_model, "--id", "nope", "--plot", "x.png")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "no series 'nope'" in result.stderr and not (cwd / "x.png").exists()


def test_predict_data_of_a_panel_draws_the_history_of_the_newer_file(runner, cwd, panel_model, monkeypatch):
    """With --data the picture's history is the newer file's series, the rows the forecast starts from,
    not the history the model was trained on."""
    import pandas as pd

    frame = pd.read_csv(LONG)
    frame.loc[frame["series_id"] == "N0702", "value"] *= 2  # a newer file whose N0702 is twice as high
    frame.to_csv(cwd / "newer.csv", index=False)
    figures = captured_figures(monkeypatch, "lstmcli.cli.predict")
    args = ["predict", "-m", panel_model, "--data", "newer.csv", "--id", "N0702", "--plot", "newer.png"]
    result = run(runner, *args)
    assert result.exit_code == 0, result.output
    (history,) = [line for line in figures[-1].axes[0].lines if line.get_label() == "history"]
    doubled = frame.loc[frame["series_id"] == "N0702", "value"].to_numpy()
    shown = np.asarray(history.get_ydata(), dtype=float)
    np.testing.assert_allclose(shown, doubled[-len(shown) :])


def test_inspect_of_a_panel_draws_the_series_id_names(runner, cwd, panel_model):
    result = run(runner, "inspect", "-m", panel_model, "--id", "N0762", "--plot", "gates.png")
    assert result.exit_code == 0, result.output
    check_picture(cwd / "gates.png")
    result = run(runner, "inspect", "-m", panel_model, "--plot", "all.png")  # one network per series
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "choose one with --id" in result.stderr and not (cwd / "all.png").exists()


def test_backtest_plot_shows_each_origins_intervals_with_level(runner, cwd, monkeypatch):
    from matplotlib.collections import PolyCollection

    figures = captured_figures(monkeypatch, "lstmcli.cli.backtest")
    common = [AIR, *FAST, "--windows", "3", "--format", "json"]
    for levels in ([], ["--level", "80"], ["--level", "80", "--level", "95"]):
        result = run(runner, "backtest", *common, *levels, "--plot", "b.png")
        assert result.exit_code == 0, result.output
        check_picture(cwd / "b.png")
        bands = [c for c in figures[-1].axes[0].collections if isinstance(c, PolyCollection)]
        assert len(bands) == 3 * (len(levels) // 2)  # every origin, every level
    result = run(runner, "backtest", LONG, "--id-col", "series_id", "--season", "4", *FAST, "--level", "90",
                 "--plot", "long.png")  # fmt: skip
    assert result.exit_code == 0, result.output
    for ax in figures[-1].axes[:3]:  # the grid of series, each with its band
        assert [c.get_label() for c in ax.collections] == ["90% interval"]


def test_a_panel_backtest_picture_is_dated_and_says_the_error_is_over_every_series(runner, cwd, monkeypatch):
    # the grid's x axes read row numbers (96 ... 144) where the file has dates
    import matplotlib.dates as mdates

    figures = captured_figures(monkeypatch, "lstmcli.cli.backtest")
    panel = REPO / "sample_data" / "monthly_panel.csv"
    result = run(
        runner, "backtest", panel, "--id-col", "series", *FAST, "--plot", "p.png", "--id", "ice_cream"
    )
    assert result.exit_code == 0, result.output
    series_ax, error_ax = figures[-1].axes
    assert series_ax.get_title(loc="left") == "series ice_cream"
    assert isinstance(
        series_ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter | mdates.AutoDateFormatter
    )
    first, last = (mdates.num2date(x).year for x in series_ax.get_xlim())
    assert 2018 <= first <= last <= 2024  # (its last 3 years and its test year, 2022-2023)
    assert (
        error_ax.get_title(loc="left")
        == "Error by horizon step, the mean over all 4 series (lower is better)"
    )
    result = run(runner, "backtest", LONG, "--id-col", "series_id", "--season", "4", *FAST, "--plot", "q.png")
    assert result.exit_code == 0, result.output  # (M3's files number their steps: steps, as before)
    assert figures[-1].axes[0].get_xlabel() in ("", "step")
