"""A warm `predict` or `inspect` of a single-series model stays light (issue #23): it does not import
pandas, and it loads the compiled loop from Numba's cache without registering the compiler's
implementations. Checked by what the process imported, not by timing it."""

from __future__ import annotations

import json
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
from lstmcli.engine import kernels
report = {
    "code": code,
    "pandas": "pandas" in sys.modules,
    "refresh": REFRESH_ONLY in sys.modules,
    "cached": kernels._CACHE,
    "hits": sum(kernels.forward_steps.stats.cache_hits.values()),
    "misses": sum(kernels.forward_steps.stats.cache_misses.values()),
}
sys.stderr.write("\\nREPORT " + json.dumps(report) + "\\n")
""".replace("REFRESH_ONLY", repr(REFRESH_ONLY))


def run(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(list(args))], capture_output=True, text=True, cwd=REPO
    )
    line = [x for x in out.stderr.splitlines() if x.startswith("REPORT ")]
    assert line, out.stderr
    report = json.loads(line[-1][len("REPORT ") :])
    assert report["code"] in (0, None), out.stderr
    return report


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
def test_a_warm_predict_or_inspect_imports_neither_pandas_nor_the_compiler(trained_model, args) -> None:
    run(args[0], "-m", str(trained_model), *args[1:])  # the cache may be cold: this run fills it
    report = run(args[0], "-m", str(trained_model), *args[1:])
    assert not report["pandas"]
    if not report["cached"]:
        pytest.skip("Numba has no cache folder here: every run compiles")
    assert report["hits"] == 1 and report["misses"] == 0
    assert not report["refresh"]


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
    import os

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
