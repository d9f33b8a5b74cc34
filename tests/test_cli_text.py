"""What a file or the command line holds is shown as text: never read as Rich markup, and its control
characters never reach the terminal raw (issue #24, item 4). Every command, every output format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.cli.text import printable, styled
from lstmcli.npzfile import npz_bytes

TINY = ["--epochs", "2", "--hidden", "4", "--ensemble", "1", "--threads", "1"]
# Raw control characters (C0 but newline, DEL, C1) and bidi overrides in what reached the terminal.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
NAMES = [
    "[bold red]x[/b] \u009b2J",  # markup that would style and one that would crash; a C1 CSI
    "[/] :smile: [link=file:///etc/passwd]y\u202e",  # a closing tag alone, an emoji code, a link, a bidi override
]


@pytest.fixture
def runner(monkeypatch, tmp_path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):  # no styles: any control character is a leak
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _run(runner: CliRunner, *args: object, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "MarkupError" not in result.output
    leak = RAW_CONTROL.search(result.stdout + result.stderr)
    assert leak is None, f"raw {leak.group()!r} in {args}: {result.output!r}"
    return result


def _series_csv(path: Path, column: str) -> Path:
    dates = np.arange("2000-01", "2006-01", dtype="datetime64[M]")
    values = 10 + np.sin(np.arange(len(dates)))
    lines = [f'date,"{column}"'] + [f"{d}-01,{float(v)!r}" for d, v in zip(dates, values, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", NAMES)
def test_column_names_and_paths_with_markup_and_escapes_in_every_command(runner, tmp_path, name):
    # a folder '[' and a file name with markup and an escape sequence: the path '[/x]\x1b[2J.csv'
    data = _series_csv(tmp_path / "[" / "x]\x1b[2J.csv", name)
    model = "[b]m\x1b[5m.npz"
    shown = printable(name)

    train = _run(runner, "train", data, "-m", model, *TINY, "-q")
    assert f"target '{shown}'" in train.stdout and "x]\\x1b[2J.csv" in train.stdout
    assert f"note: Forecasting column '{shown}'" in train.stderr
    assert "[b]m\\x1b[5m.npz" in train.stdout  # the summary and the 'Next:' line
    summary = json.loads(_run(runner, "train", data, "-m", model, *TINY, "--format", "json").stdout)
    assert summary["target"] == name and summary["model"] == model

    table = _run(runner, "predict", "-m", model, "--level", "80", "-o", "out.csv")
    assert f"{shown}, 12 periods after" in table.stdout and "written to out.csv" in table.stdout
    assert _run(runner, "predict", "-m", model, "--data", data).stdout.count(shown) == 1
    assert json.loads(_run(runner, "predict", "-m", model, "--format", "json").stdout)["target"] == name
    csv_out = _run(runner, "predict", "-m", model, "--format", "csv").stdout
    assert csv_out.startswith("date,forecast\n")
    assert (tmp_path / "out.csv").read_text().startswith("date,forecast,lower_80,upper_80\n")

    assert _run(runner, "inspect", "-m", model, "--steps", "2").stdout.startswith(f"{shown}: the ")
    payload = json.loads(_run(runner, "inspect", "-m", model, "--format", "json").stdout)
    assert payload["input_names"][0] == f"{name} (transformed)"
    _run(runner, "inspect", "-m", model, "--format", "csv")

    for fmt in ("table", "csv", "json"):
        result = _run(runner, "backtest", data, "--windows", "1", *TINY, "--format", fmt)
    assert json.loads(result.stdout)["data"] == str(data)
    assert "Backtest of x]\\x1b[2J.csv" in _run(runner, "backtest", data, "--windows", "1", *TINY).stdout


def _with_metadata(good: Path, out: Path, **data_fields: object) -> Path:
    with np.load(good, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["metadata"]))
    meta["data"].update(data_fields)
    arrays["metadata"] = np.array(json.dumps(meta))
    out.write_bytes(npz_bytes(arrays))
    return out


def test_control_sequences_in_a_model_file_are_shown_escaped(runner, tmp_path, trained_model):
    hostile = "\x1b]0;owned\x07\x1b[2J[/b]"
    model = _with_metadata(trained_model, tmp_path / "m.npz", target=hostile, source="\x1b[31mred.csv")
    table = _run(runner, "predict", "-m", model)
    assert "\\x1b]0;owned\\x07\\x1b[2J[/b], 12 periods after" in table.stdout
    assert "observations of \\x1b[31mred.csv" in table.stdout
    assert json.loads(_run(runner, "predict", "-m", model, "--format", "json").stdout)["target"] == hostile
    _run(runner, "predict", "-m", model, "--format", "csv")
    assert _run(runner, "inspect", "-m", model).stdout.startswith("\\x1b]0;owned\\x07\\x1b[2J[/b]: the ")
    _run(runner, "inspect", "-m", model, "--format", "json")
    _run(runner, "inspect", "-m", model, "--format", "csv")


def test_errors_quoting_user_text_are_one_escaped_line(runner, tmp_path):
    data = _series_csv(tmp_path / "d.csv", "value")
    for args, fragment in [
        (["train", data, "--target", "[/b]\x1b[2J"], "'[/b]\\x1b[2J'"),
        (["predict", "-m", "[bold]\x1b[2J.npz"], "[bold]\\x1b[2J.npz: no such model file"),
        (["train", "[/x]\x07.csv"], "[/x]\\x07.csv: no such file"),
        (["inspect", "--data", "[/b]\u009b.csv", "-m", "nope.npz"], "nope.npz"),
    ]:
        result = _run(runner, *args, code=1)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines


def test_styled_text_and_plain_strings_are_never_markup():
    from io import StringIO

    from lstmcli.cli.text import console

    out = console(file=StringIO(), force_terminal=False)
    out.print("[bold red]x[/b] \x1b[2J :smile:")
    out.print(styled(("[/]", "bold"), " \x07"))
    assert out.file.getvalue() == "[bold red]x[/b] \\x1b[2J :smile:\n[/] \\x07\n"


def test_the_inputs_of_a_window_fit_the_terminal_in_as_many_tables_as_it_takes():
    # at 80 columns a calendar's inputs cut dates and numbers to "2022-…" and "-0.5…"
    import io

    import numpy as np
    from rich.console import Console

    from lstmcli.cli.render import inputs_tables

    names = ["sales (transformed)", "promo@t+1", *[f"day_of_{p}_{f}@t+1" for p in ("week", "month", "year")
                                                    for f in ("sin", "cos")]]  # fmt: skip
    values = np.linspace(-1.5, 1.5, 3 * len(names)).reshape(3, len(names))
    labels = ["2022-12-29", "2022-12-30", "2022-12-31"]
    out = io.StringIO()
    console = Console(file=out, width=80)
    tables = inputs_tables(values, names, labels, console.width)
    for table in tables:
        console.print(table)
    text = out.getvalue()
    assert len(tables) > 1 and "…" not in text and max(map(len, text.splitlines())) <= 80
    assert all(name in text for name in names) and all(f"{v:.3f}" in text for v in values.ravel())


def test_commands_to_copy_quote_what_a_shell_would_split():
    # "Next: lstmcli inspect --model my model.npz --id São Paulo 🚀" broke when pasted into a shell
    from lstmcli.cli.text import shell

    assert shell("model.npz") == "model.npz" and shell("N0762") == "N0762"
    assert shell("my model.npz") == "'my model.npz'" and shell("São Paulo 🚀") == "'São Paulo 🚀'"
    assert shell("it's") == "'it'\"'\"'s'"


def test_numbers_of_one_table_column_are_written_alike():
    # 8177 and 1.002e+04 stood in one forecast column
    from lstmcli.cli.render import fmt

    assert [fmt(v) for v in (8177.3, 10020.4, 123456.7, 999.5, 12.34567, 0.5)] == [
        "8177", "10020", "123457", "999.5", "12.3457", "0.5"
    ]  # fmt: skip
    assert fmt(2.5e6) == "2.500e+06" and fmt(float("nan")) == "–"
