"""The engine's one thread rule: a network runs on one core, with NumPy's BLAS held to one thread.

Cores are used by independent work instead: the members of an ensemble train side by side in worker
processes (``forecasting.members``), one BLAS thread each. At the sizes forecasting uses (hidden 32,
batch 32: about 0.3 MFLOP a step) splitting one network's steps between threads gains nothing, and
BLAS threads that wait for each other at every small product collapse when another process holds a
core (30-60x slower per product, measured; benchmarks/README.md lists what was tried). One thread
also makes the bits of a model independent of the machine's core count.

threadpoolctl is the well-kept library that changes the thread count of whichever BLAS NumPy loaded;
its controller is built once (inspecting the loaded libraries costs about 100 µs).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from lstmcli.errors import ConfigError

_controller: ThreadpoolController | None = None


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def cores_for(threads: int) -> int:
    """The cores a ``--threads`` value asks for: 0 is every core this process may use. Anything but a
    whole number from 0 is a ConfigError naming it (the Python API's callers pass it unchecked)."""
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 0:
        raise ConfigError(f"--threads must be a whole number, 0 for every core, got {threads!r}")
    return available_cores() if int(threads) == 0 else int(threads)


def blas_controller() -> ThreadpoolController:
    """threadpoolctl's controller of the BLAS NumPy loaded, built once."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Inside the block NumPy's BLAS runs on one thread (training and forecasting run inside one)."""
    with blas_controller().limit(limits=1):
        yield
