"""Where Numba keeps the compiled loops' machine code, chosen once before ``kernels`` compiles anything.

Numba caches next to the source (``lstmcli/engine/__pycache__``), or else in the user's cache folder
(``~/.cache/numba``), or in ``NUMBA_CACHE_DIR`` when that is set. A read-only install run by a user
without a writable home (a container with a read-only file system, a service account) has none of
these, and ``cache=True`` then stops the import with "no locator available" (a traceback on every
command). So, when Numba finds no place of its own:

- a folder of this user's in the temporary directory, ``lstmcli-numba-cache-<uid>``, created private
  (0700) and used only while it is owned by this user and writable by nobody else: machine code
  loaded from a folder another user could write would run as this user;
- failing that, no cache: the loops are compiled in every process (a few seconds per command), which
  is slow but right.
"""

from __future__ import annotations

import os
import stat
import tempfile

import numba
from numba import njit


def _probe() -> int:  # defined in this folder, as the loops are: Numba looks for the same cache folders
    return 0


def _numba_can_cache() -> bool:
    """Whether Numba finds a cache folder for functions defined in this folder (``njit`` with
    ``cache=True`` looks for one when it wraps a function, before compiling anything)."""
    try:
        njit(cache=True)(_probe)
    except RuntimeError:  # "cannot cache function ...: no locator available for file ..."
        return False
    return True


def private_folder(path: str) -> bool:
    """Create ``path`` (mode 0700) unless it exists; True when it is a folder (not a link) owned by
    this user, writable by nobody else, and writable by this user."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    owner = getattr(os, "getuid", lambda: info.st_uid)()  # no uid on Windows: owner checks do not apply
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == owner
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        and os.access(path, os.W_OK | os.X_OK)
    )


def fallback_folder() -> str:
    uid = getattr(os, "getuid", lambda: "user")()
    return os.path.join(tempfile.gettempdir(), f"lstmcli-numba-cache-{uid}")


def cache_enabled() -> bool:
    """Whether the loops may be compiled with ``cache=True``; may point ``NUMBA_CACHE_DIR``'s setting
    (``numba.config.CACHE_DIR``) at this user's private folder first (see the module docstring).
    ``kernels`` asks once, when it is imported."""
    if _numba_can_cache():
        return True
    if numba.config.CACHE_DIR:  # the user's NUMBA_CACHE_DIR is not usable: leave it, compile
        return False
    folder = fallback_folder()
    if not private_folder(folder):
        return False
    numba.config.CACHE_DIR = folder
    if _numba_can_cache():
        return True
    numba.config.CACHE_DIR = ""
    return False


QUICK_LOAD_SWITCH = "LSTMCLI_QUICK_CACHE_LOAD"  # "0": always take Numba's own path to the cache


def quick_cache_loads(*dispatchers: object) -> None:
    """Load each function's cached machine code without first initialising all of Numba's compiler.

    With a cache hit, Numba still calls ``CPUContext.refresh`` before loading: it imports and registers
    every implementation the compiler might need (about 0.1-0.2 s, most of a warm ``predict``'s Numba
    cost), though loading code that is already compiled needs none of them. Here a load first starts
    only Numba's runtime (which the loaded code calls) and reads the cache through the same
    ``_load_overload`` Numba's own ``load_overload`` calls after its refresh, so the entry is chosen
    by the same key: the signature, the bytecode, and ``codegen.magic_tuple()`` (the target triple,
    the CPU's name and its features), so code compiled for one CPU is never loaded on another.

    This leans on three internals of Numba (``dispatcher._cache``, ``cache._load_overload(sig,
    target_context)``, ``nrt.rtsys.initialize(ctx)``). When any of them is missing or has another
    signature (another Numba version), or ``LSTMCLI_QUICK_CACHE_LOAD=0`` is set, nothing is changed;
    at a load, a miss (the first run, a changed source, another CPU), an error, or anything but
    compiled code coming back takes Numba's own path: refresh, load, else compile. The machine code
    run is the same cache entry either way, so results are bit for bit the same."""
    if os.environ.get(QUICK_LOAD_SWITCH, "1") == "0":
        return
    try:
        from numba.core.runtime import nrt

        initialize = nrt.rtsys.initialize
    except (ImportError, AttributeError):
        return
    if not _takes(initialize, 1):
        return
    for dispatcher in dispatchers:
        cache = getattr(dispatcher, "_cache", None)
        quick_load = getattr(cache, "_load_overload", None)
        numba_load = getattr(cache, "load_overload", None)
        if not (_takes(quick_load, 2) and _takes(numba_load, 2)):
            continue

        def load_overload(sig, target_context, quick_load=quick_load, numba_load=numba_load):  # noqa: ANN001, ANN202
            try:
                initialize(target_context)
                loaded = quick_load(sig, target_context)
            except Exception:  # noqa: BLE001  (Numba's own path decides, and reports)
                loaded = None
            if loaded is None or not hasattr(loaded, "entry_point"):  # not a compile result
                return numba_load(sig, target_context)
            return loaded

        cache.load_overload = load_overload  # type: ignore[union-attr]


def _takes(function: object, n: int) -> bool:
    """Whether ``function`` is a callable of exactly ``n`` positional parameters."""
    import inspect

    if not callable(function):
        return False
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return len(parameters) == n and all(p.kind in positional and p.default is p.empty for p in parameters)
