"""Sliding training windows and a time-ordered train/validation split (NumPy only).

Window ``k`` looks at the inputs ``inputs[k : k + lookback]`` and must predict the target values
``target[k + lookback : k + lookback + horizon]``, i.e. the targets start right where the window ends.
With ``T`` time steps there are ``N = T - lookback - horizon + 1`` windows.

The split never lets training see the future: validation windows are the last ones, and a training
window is kept only if all of its targets come strictly before the first validation target.

Examples
--------
>>> import numpy as np
>>> X, Y = make_windows(np.arange(6.0)[:, None], np.arange(6.0), lookback=3, horizon=2)
>>> X.shape, Y.shape
((2, 3, 1), (2, 2))
>>> X[1, :, 0], Y[1]
(array([1., 2., 3.]), array([4., 5.]))
>>> split_windows(n_steps=20, lookback=4, horizon=2, val_size=3)
Split(train=slice(0, 11, None), val=slice(12, 15, None), train_end=16)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lstmcli.errors import ConfigError

__all__ = ["Split", "make_windows", "min_length", "split_windows"]


def _positive_int(value, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{option} must be a whole number >= 1, got {value!r}")
    return int(value)


def _prefix(label: str | None) -> str:
    return f"{label}: " if label else ""


def make_windows(
    inputs: np.ndarray, target: np.ndarray, lookback: int, horizon: int = 1, *, label: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into (input window, future targets) pairs.

    Parameters
    ----------
    inputs : numpy.ndarray
        ``(T, D)`` model inputs per time step (a ``(T,)`` array is taken as ``D = 1``).
    target : numpy.ndarray
        ``(T,)`` values to predict.
    lookback : int
        Window length (``--lookback``).
    horizon : int
        Number of future target steps per window (``--horizon``).
    label : str, optional
        Prefix for error messages, e.g. the file name.

    Returns
    -------
    X : numpy.ndarray
        ``(N, lookback, D)`` with ``X[k] = inputs[k : k + lookback]``.
    Y : numpy.ndarray
        ``(N, horizon)`` with ``Y[k] = target[k + lookback : k + lookback + horizon]``.

    Notes
    -----
    Both are read-only **views** into ``inputs`` and ``target`` (no copy, whatever the size of
    ``N``); they share memory with, and change along with, the inputs.  Call ``.copy()`` for writable
    arrays.  ``X`` is not C-contiguous.

    Raises
    ------
    ConfigError
        If ``N <= 0`` (the message states the numbers) or ``lookback``/``horizon`` are not >= 1.
    """
    lookback = _positive_int(lookback, "--lookback")
    horizon = _positive_int(horizon, "--horizon")
    inputs = np.asarray(inputs)
    target = np.asarray(target)
    if inputs.ndim == 1:
        inputs = inputs[:, None]
    if inputs.ndim != 2 or target.ndim != 1 or inputs.shape[0] != target.shape[0]:
        raise ValueError(
            f"inputs must be (T, D) and target (T,) with the same T; got {inputs.shape} and {target.shape}"
        )
    t = target.shape[0]
    n = t - lookback - horizon + 1
    if n <= 0:
        raise ConfigError(
            f"{_prefix(label)}{t} time steps, but lookback {lookback} + horizon {horizon} needs at least "
            f"{lookback + horizon}"
        )
    # sliding_window_view puts the window axis last: (T - lookback + 1, D, lookback) -> (N, lookback, D).
    X = sliding_window_view(inputs, lookback, axis=0)[:n].transpose(0, 2, 1)
    Y = sliding_window_view(target[lookback:], horizon)
    return X, Y


@dataclass(frozen=True)
class Split:
    """Which windows train and which validate.

    Attributes
    ----------
    train : slice
        Window indices used for training.
    val : slice
        Window indices used for validation (may be empty).
    train_end : int
        Number of leading time steps the training windows touch (inputs and targets); fit transforms
        on ``series[:train_end]``.
    """

    train: slice
    val: slice
    train_end: int

    @property
    def n_train(self) -> int:
        """Number of training windows."""
        return self.train.stop - self.train.start

    @property
    def n_val(self) -> int:
        """Number of validation windows."""
        return self.val.stop - self.val.start


def min_length(lookback: int, horizon: int, n_val: int) -> int:
    """Smallest series length giving one training window plus ``n_val`` validation windows.

    With validation, the ``horizon - 1`` windows just before the first validation window are dropped
    (their targets would overlap validation targets), hence ``n_val + lookback + 2 * horizon - 1``.
    """
    lookback = _positive_int(lookback, "--lookback")
    horizon = _positive_int(horizon, "--horizon")
    if isinstance(n_val, bool) or not isinstance(n_val, numbers.Integral) or n_val < 0:
        raise ConfigError(f"the number of validation windows must be a whole number >= 0, got {n_val!r}")
    if n_val == 0:
        return lookback + horizon
    return int(n_val) + lookback + 2 * horizon - 1


def _val_count(n_windows: int, val_size) -> int:
    """Validation windows for a fraction (rounded, at least 1 when the fraction is > 0) or a count."""
    if isinstance(val_size, numbers.Integral):
        return int(val_size)
    if val_size == 0:
        return 0
    return max(1, int(round(val_size * n_windows)))


def split_windows(n_steps: int, lookback: int, horizon: int, val_size, *, label: str | None = None) -> Split:
    """Split the ``N = n_steps - lookback - horizon + 1`` windows by time, without leaking the future.

    Parameters
    ----------
    n_steps : int
        Length ``T`` of the series.
    lookback, horizon : int
        As in :func:`make_windows`.
    val_size : float or int
        A fraction in [0, 1) of the windows (rounded; any positive fraction gives at least one window) or
        an int count of validation windows (0 allowed).
    label : str, optional
        Prefix for error messages, e.g. the file name.

    Returns
    -------
    Split
        Validation windows are the last ``n_val`` windows.  Training windows are those whose targets
        all end strictly before the first validation target, so with ``horizon > 1`` there is a gap of
        ``horizon - 1`` unused windows between them.

    Raises
    ------
    ConfigError
        Invalid ``val_size``, or too few windows; the message states the minimum series length.
    """
    lookback = _positive_int(lookback, "--lookback")
    horizon = _positive_int(horizon, "--horizon")
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 0:
        raise ConfigError(f"series length must be a whole number >= 0, got {n_steps!r}")
    if isinstance(val_size, bool) or not isinstance(val_size, numbers.Real):
        raise ConfigError(
            f"--val-size must be a fraction in [0, 1) or a whole number of windows, got {val_size!r}"
        )
    if isinstance(val_size, numbers.Integral):
        if val_size < 0:
            raise ConfigError(f"--val-size must be >= 0 windows, got {val_size}")
    elif not (0.0 <= float(val_size) < 1.0) or math.isnan(val_size):
        raise ConfigError(
            f"--val-size {val_size!r} must be a fraction in [0, 1) or a whole number of windows (e.g. 12)"
        )

    n_windows = n_steps - lookback - horizon + 1
    n_val = _val_count(max(n_windows, 0), val_size)
    n_train = n_windows if n_val == 0 else n_windows - n_val - (horizon - 1)
    if n_windows <= 0 or n_train < 1:
        need = _needed_length(lookback, horizon, val_size)
        parts = f"lookback {lookback}" + (f" + horizon {horizon}" if horizon > 1 else "")
        if n_val or not isinstance(val_size, numbers.Integral) and val_size > 0:
            shown_val = (
                val_size if isinstance(val_size, numbers.Integral) else f"{val_size * 100:g}% of the windows"
            )
            parts += f" + validation {shown_val}"
        raise ConfigError(f"{_prefix(label)}{n_steps} rows, but {parts} needs at least {need}")
    val = slice(n_windows - n_val, n_windows)
    train_end = (n_train - 1) + lookback + horizon  # one past the last training target
    return Split(train=slice(0, n_train), val=val, train_end=train_end)


def _needed_length(lookback: int, horizon: int, val_size) -> int:
    """Minimum series length for a count or a fraction of validation windows."""
    if isinstance(val_size, numbers.Integral):
        return min_length(lookback, horizon, int(val_size))
    # The count depends on N.  N - n_val(N) never decreases as N grows, and N - n_val(N) <= N(1 - f) + 0.5,
    # so scan upward from (horizon - 0.5) / (1 - f), below which no N can work.
    f = float(val_size)
    n = max(1, int((horizon - 0.5) / (1.0 - f)) - 1)
    while True:
        n_val = _val_count(n, val_size)
        if (n_val == 0 and n >= 1) or n - n_val - (horizon - 1) >= 1:
            return n + lookback + horizon - 1
        n += 1
