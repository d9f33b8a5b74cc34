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


@pytest.mark.parametrize(
    ("loaded", "expected"),
    [("cached code", "cached code"), (None, "numba's own path"), (OSError("bad file"), "numba's own path")],
)
def test_a_quick_load_falls_back_to_numbas_path_on_a_miss_or_an_error(monkeypatch, loaded, expected) -> None:
    from numba.core.runtime import nrt

    monkeypatch.setattr(nrt, "rtsys", SimpleNamespace(initialize=lambda ctx: None))
    cache = FakeCache(loaded)
    jit_cache.quick_cache_loads(SimpleNamespace(_cache=cache))
    assert cache.load_overload("sig", "ctx") == expected
    assert cache.numba_loads == (expected == "numba's own path")
