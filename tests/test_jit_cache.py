"""Where the compiled loops are cached (``lstmcli/engine/jit_cache.py``): a read-only install run by a
user without a writable home must still work, and never load machine code from a folder others can write.

Numba's own cache folders (next to the source, the user's cache folder) are taken away in a child
process with Numba's ``NUMBA_CACHE_LOCATOR_CLASSES`` setting, which leaves only ``NUMBA_CACHE_DIR``:
as root, no folder can be made unwritable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lstmcli.engine import jit_cache

REPO = Path(__file__).resolve().parent.parent

# A forward pass compiles (or loads) the forward loop; prints what the engine chose.
_CHILD = """
import numba, numpy as np
from lstmcli.engine import kernels
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=4), rng=np.random.default_rng(0))
y = net.predict(np.ones((2, 3, 1), np.float32))
print(kernels._CACHE, numba.config.CACHE_DIR or "-", bool(np.isfinite(y).all()))
"""


def _child(tmp_path: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env |= {"TMPDIR": str(tmp_path), "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _fallback(tmp_path: Path) -> Path:
    uid = getattr(os, "getuid", lambda: "user")()
    return tmp_path / f"lstmcli-numba-cache-{uid}"


def test_without_a_cache_folder_of_numba_the_loops_cache_in_a_private_temporary_folder(tmp_path):
    cached, folder, finite = _child(tmp_path)
    assert (cached, finite) == ("True", "True")
    assert Path(folder) == _fallback(tmp_path)
    assert stat.S_IMODE(Path(folder).stat().st_mode) == 0o700
    assert list(Path(folder).rglob("*.nbi")), "the forward loop's machine code was not cached"


def test_a_temporary_folder_others_can_write_is_not_used(tmp_path):
    folder = _fallback(tmp_path)
    folder.mkdir()
    folder.chmod(0o777)
    cached, used, finite = _child(tmp_path)
    assert (cached, used, finite) == ("False", "-", "True")  # compiled in the process, not cached
    assert not any(folder.iterdir())


def test_private_folder_accepts_only_a_real_folder_of_this_user_that_only_it_can_write(tmp_path):
    new = tmp_path / "new"
    assert jit_cache.private_folder(str(new))
    assert stat.S_IMODE(new.stat().st_mode) == 0o700
    assert jit_cache.private_folder(str(new))  # again: it exists and is still private

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o775)
    assert not jit_cache.private_folder(str(shared))

    link = tmp_path / "link"
    link.symlink_to(new, target_is_directory=True)
    assert not jit_cache.private_folder(str(link))

    afile = tmp_path / "file"
    afile.write_text("")
    assert not jit_cache.private_folder(str(afile))


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="owners are a POSIX notion")
def test_the_fallback_folder_is_per_user(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(jit_cache.tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    assert Path(jit_cache.fallback_folder()) == _fallback(tmp_path)
