"""Fuzzing the model-file loader: arbitrary bytes and mutated valid files either load or raise
ModelFileError — never another exception, never a hang, never code execution."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmcli.errors import ModelFileError
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.npzfile import npz_bytes

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _try_load(path: Path) -> None:
    try:
        model = Forecaster.load(path)
    except ModelFileError as e:
        assert "\n" not in str(e) and str(e).startswith(path.name)
        return
    model.predict(2)  # whatever loads must also be usable


@FUZZ
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "model.npz"
    path.write_bytes(data)
    _try_load(path)


@FUZZ
@given(data=st.data())
def test_mutated_valid_file(tmp_path_factory, trained_model, data):
    raw = bytearray(trained_model.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(raw) // 2, len(raw)))
    path = tmp_path_factory.mktemp("fuzz") / "model.npz"
    path.write_bytes(bytes(raw[:cut]))
    _try_load(path)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.sampled_from(["[/b]", "[bold red]x", "\x1b[2J", "\x9b31m", ":smile:"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(data=st.data())
def test_mutated_metadata(tmp_path_factory, trained_model, data):
    with np.load(trained_model, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["metadata"]))
    section = data.draw(st.sampled_from(sorted(meta)))
    if isinstance(meta[section], dict) and meta[section] and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(meta[section])))
        meta[section][key] = data.draw(JSON_VALUES)
    else:
        meta[section] = data.draw(JSON_VALUES)
    arrays["metadata"] = np.array(json.dumps(meta))
    path = tmp_path_factory.mktemp("fuzz") / "model.npz"
    path.write_bytes(npz_bytes(arrays))
    _try_load(path)


# Markup, emoji codes, escape sequences (C0, C1), bidi overrides and line breaks, mixed with plain text.
HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from(list("[]/=bold red:smile link\x1b\x07\x9b\u202e\n\t")), max_size=24
)


@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_hostile_text_in_metadata_is_shown_as_text(tmp_path_factory, trained_model, data):
    """Whatever strings a model file names its data with, predict and inspect show them as text: no
    markup error, no control character reaching the terminal raw, in every format."""
    import re

    from typer.testing import CliRunner

    from lstmcli.cli import app

    with np.load(trained_model, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["metadata"]))
    meta["data"]["target"] = data.draw(HOSTILE_TEXT, "target")
    meta["data"]["source"] = data.draw(HOSTILE_TEXT, "source")
    arrays["metadata"] = np.array(json.dumps(meta))
    path = tmp_path_factory.mktemp("fuzz") / "model.npz"
    path.write_bytes(npz_bytes(arrays))
    command = data.draw(st.sampled_from(["predict", "inspect"]))
    output_format = data.draw(st.sampled_from(["table", "csv", "json"]))
    result = CliRunner().invoke(
        app,
        [command, "-m", str(path), "--format", output_format],
        env={"NO_COLOR": "1", "FORCE_COLOR": None, "TTY_COMPATIBLE": None},
    )
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]", result.stdout + result.stderr)
