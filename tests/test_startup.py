"""`predict` and `inspect` of a single-series model start light (issue #23): they import neither pandas
nor Numba (the networks run in NumPy, ``engine.layer``), so a first run compiles nothing and prints what
later runs print; the compiled loops of `train` load from Numba's cache without registering the
compiler's implementations. Checked by what the process imported and printed, not by timing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from lstmcli.engine import jit_cache

REPO = Path(__file__).resolve().parent.parent
# Imported by Numba's CPUContext.refresh (every compiler implementation), not by a load from the cache.
REFRESH_ONLY = "numba.np.linalg"

RUN = """
import json, sys
sys.argv = ["lstmcli", *json.loads(sys.argv[1])]
from lstmcli.cli import app
code = None
try:
    app()
except SystemExit as e:
    code = e.code
report = {"code": code, "pandas": "pandas" in sys.modules, "numba": "numba" in sys.modules}
sys.stderr.write("\\nREPORT " + json.dumps(report) + "\\n")
"""


def run(cache: Path | None, *args: str) -> tuple[dict, str]:
    """The report and the standard output of one CLI run in a fresh process, with Numba's cache in
    ``cache`` (None: this session's, where the trained model's loops were compiled)."""
    out = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(list(args))],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ | {"COLUMNS": "120"} | ({"NUMBA_CACHE_DIR": str(cache)} if cache else {}),
    )
    line = [x for x in out.stderr.splitlines() if x.startswith("REPORT ")]
    assert line, out.stderr
    report = json.loads(line[-1][len("REPORT ") :])
    assert report["code"] in (0, None), out.stderr
    return report, out.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("predict", "--format", "json"),
        ("predict", "--format", "csv", "--level", "80"),
        ("predict",),
        ("inspect", "--format", "json"),
        ("inspect",),
    ],
)
def test_predict_and_inspect_import_neither_pandas_nor_numba_and_print_the_same_cold_or_warm(
    trained_model, tmp_path, args
) -> None:
    command = (args[0], "-m", str(trained_model), *args[1:])
    cold, cold_out = run(tmp_path / "empty", *command)  # a first run after an install: no cache
    warm, warm_out = run(None, *command)  # with the cache that training the model filled
    assert not cold["numba"] and not warm["numba"]
    assert not cold["pandas"] and not warm["pandas"]
    assert cold_out == warm_out and cold_out
    assert not (tmp_path / "empty").exists() or not any(
        (tmp_path / "empty").rglob("*.nbi")
    )  # nothing compiled


# Loads (or compiles) every loop `train` uses, as `train` does before its first epoch.
WARM_UP = """
import json, sys
from lstmcli.engine import kernels
kernels.warm_up()
hits = sum(sum(f.stats.cache_hits.values()) for f in (kernels.forward_steps, kernels.backward_steps))
misses = sum(sum(f.stats.cache_misses.values()) for f in (kernels.forward_steps, kernels.backward_steps))
print(json.dumps({"cached": kernels._CACHE, "hits": hits, "misses": misses, "refresh": REFRESH_ONLY in sys.modules}))
""".replace("REFRESH_ONLY", repr(REFRESH_ONLY))


def test_a_warm_engine_loads_the_compiled_loops_without_the_compiler(tmp_path) -> None:
    env = os.environ | {"NUMBA_CACHE_DIR": str(tmp_path)}

    def warm_up() -> dict:
        out = subprocess.run(
            [sys.executable, "-c", WARM_UP], capture_output=True, text=True, cwd=REPO, env=env
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    first = warm_up()
    if not first["cached"]:
        pytest.skip("Numba has no cache folder here: every run compiles")
    assert first["misses"] == 2 and first["hits"] == 0  # compiled, and cached
    second = warm_up()
    assert second["hits"] == 2 and second["misses"] == 0
    assert not second["refresh"]


class FakeCache:
    def __init__(self, loaded: object) -> None:
        self.loaded = loaded
        self.numba_loads = 0

    def _load_overload(self, sig: object, target_context: object) -> object:
        if isinstance(self.loaded, Exception):
            raise self.loaded
        return self.loaded

    def load_overload(self, sig: object, target_context: object) -> object:
        self.numba_loads += 1
        return "numba's own path"


COMPILED = SimpleNamespace(entry_point="machine code")  # what a cache hit gives back


@pytest.mark.parametrize(
    ("loaded", "expected"),
    [
        (COMPILED, COMPILED),
        (None, "numba's own path"),  # a miss
        (OSError("bad file"), "numba's own path"),
        ("something else", "numba's own path"),  # not a compile result: internals changed
    ],
)
def test_a_quick_load_falls_back_to_numbas_path_on_a_miss_or_an_error(monkeypatch, loaded, expected) -> None:
    from numba.core.runtime import nrt

    monkeypatch.setattr(nrt, "rtsys", SimpleNamespace(initialize=lambda ctx: None))
    cache = FakeCache(loaded)
    jit_cache.quick_cache_loads(SimpleNamespace(_cache=cache))
    assert cache.load_overload("sig", "ctx") == expected
    assert cache.numba_loads == (expected == "numba's own path")


class OtherNumbaCache(FakeCache):
    def _load_overload(
        self, sig: object, target_context: object, flags: object
    ) -> object:  # another signature
        return COMPILED


@pytest.mark.parametrize("case", ["other signature", "no runtime", "switched off"])
def test_numbas_own_path_is_left_alone_when_its_internals_differ_or_when_asked(monkeypatch, case) -> None:
    from numba.core.runtime import nrt

    monkeypatch.setattr(nrt, "rtsys", SimpleNamespace(initialize=lambda ctx: None))
    cache = FakeCache(COMPILED)
    if case == "other signature":
        cache = OtherNumbaCache(COMPILED)
    elif case == "no runtime":
        monkeypatch.setattr(nrt, "rtsys", SimpleNamespace())
    else:
        monkeypatch.setenv(jit_cache.QUICK_LOAD_SWITCH, "0")
    jit_cache.quick_cache_loads(SimpleNamespace(_cache=cache))
    assert "load_overload" not in vars(cache)  # Numba's method, not replaced
    assert cache.load_overload("sig", "ctx") == "numba's own path"


# Compiles (or loads) the smallest loop; CPU, when given, is the CPU name Numba's cache key sees.
CPU_RUN = """
import sys
import numpy as np
from numba.core import codegen
if len(sys.argv) > 1:
    codegen.JITCPUCodegen._get_host_cpu_name = lambda self: sys.argv[1]
from lstmcli.engine import kernels
kernels.tanh_array(np.zeros(3), np.zeros(3))
stats = kernels.tanh_array.stats
print(kernels._CACHE, sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_machine_code_cached_for_one_cpu_is_not_loaded_for_another(tmp_path) -> None:
    env = os.environ | {"NUMBA_CACHE_DIR": str(tmp_path)}

    def hits_and_misses(*cpu: str) -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", CPU_RUN, *cpu], capture_output=True, text=True, cwd=REPO, env=env
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    first = hits_and_misses()
    if first[0] != "True":
        pytest.skip("Numba has no cache folder here: every run compiles")
    assert first == ["True", "0", "1"]  # compiled, and cached
    assert hits_and_misses() == ["True", "1", "0"]  # this CPU: loaded
    assert hits_and_misses("some-other-cpu") == ["True", "0", "1"]  # another CPU: compiled anew
