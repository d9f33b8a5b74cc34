r"""A baseline fitted to a whole series, kept so that ``predict`` can forecast it later without the data.

Naive, Seasonal naive, Naive2, Theta, ES and ARIMA all forecast position :math:`k = n + j` (``n`` observations
fitted) as a level path combined with a seasonal figure:

.. math::

    d_k = \tfrac12 \Big(A (1-\alpha)^k + B \frac{1 - (1-\alpha)^{k+1}}{\alpha}\Big), \qquad
    \ell_{j} = \ell + \alpha \sum_{i<j} d_{n+i}, \qquad
    \hat y_{n+j} = (\ell_j + d_{n+j}) \cdot s_{k \bmod m} \quad (\text{or } + s_{k \bmod m})

Theta (``theta``) uses every term; Naive2 has :math:`A = B = 0` and multiplicative indices, Naive also
no season, and Seasonal naive a zero level and the last season as an additive figure. ES (``smoothing``)
has :math:`A = B = 0` and adds a damped trend :math:`b` to the level path: :math:`\ell_j + b \sum_{i=1}^{j+1}
\phi^i`; on seasonal data it is fitted to the logarithms (``log``: the forecast is :math:`\exp(\ell_j + \dots
+ s_{k \bmod m})`). ARIMA (``arima``) is :math:`\alpha = 1` with the drift :math:`\mu` as :math:`B = 2\mu`
(so :math:`d_k = \mu`), its autoregressive part as the damped trend, on the log scale when the series is
positive. The model file stores these few numbers (``to_dict``) instead of the series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BaselineFit"]


@dataclass(frozen=True)
class BaselineFit:
    """``level`` is the level after the last observation, ``n`` the number of observations fitted (the
    position of the first forecast), ``seasonal`` the figure: position ``t`` uses ``seasonal[t % m]``,
    multiplied (indices, positive) or, with ``additive``, added."""

    level: float
    alpha: float = 1.0
    intercept: float = 0.0
    slope: float = 0.0
    n: int = 1
    seasonal: np.ndarray = field(default_factory=lambda: np.ones(1))
    additive: bool = False
    trend: float = 0.0  # ES: the trend after the last observation, damped by ``damping`` per step
    damping: float = 1.0
    log: bool = False  # ES on seasonal data: the level path and the additive figure are logarithms

    def forecast(self, horizon: int) -> np.ndarray:
        """(horizon,) forecasts of positions n .. n + horizon - 1."""
        a = self.alpha
        k = self.n + np.arange(int(horizon))
        with np.errstate(under="ignore"):
            w = (1.0 - a) ** k
            drift = 0.5 * (self.intercept * w + self.slope * (1.0 - (1.0 - a) * w) / a)
        # f_j = l + d_j, then l <- a f_j + (1 - a) l = l + a d_j, step after step
        level = self.level + a * np.concatenate(([0.0], np.cumsum(drift[:-1])))
        if self.trend:
            level = level + self.trend * np.cumsum(self.damping ** np.arange(1, k.size + 1))
        s = self.seasonal[k % self.seasonal.size]
        if self.log:
            with np.errstate(over="ignore"):
                return np.exp(level + drift + s)
        return level + drift + s if self.additive else (level + drift) * s

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "alpha": self.alpha,
            "intercept": self.intercept,
            "slope": self.slope,
            "n": self.n,
            "seasonal": [float(v) for v in self.seasonal],
            "additive": self.additive,
            "trend": self.trend,
            "damping": self.damping,
            "log": self.log,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BaselineFit:
        """A fit read back from a model file; ValueError when a number is out of its range."""
        fit = cls(
            level=float(d["level"]),
            alpha=float(d["alpha"]),
            intercept=float(d["intercept"]),
            slope=float(d["slope"]),
            n=int(d["n"]),
            seasonal=np.asarray(d["seasonal"], dtype=np.float64).reshape(-1),
            additive=bool(d.get("additive", False)),
            trend=float(d.get("trend", 0.0)),  # (files before 2.0: no trend)
            damping=float(d.get("damping", 1.0)),
            log=bool(d.get("log", False)),  # (files before 3.0: none)
        )
        numbers = [fit.level, fit.intercept, fit.slope, fit.trend, *fit.seasonal.tolist()]
        if not all(math.isfinite(v) for v in numbers):
            raise ValueError("a baseline's fitted values must be finite numbers")
        if not 0.0 < fit.alpha <= 1.0 or not 1 <= fit.n or fit.seasonal.size < 1 or not 0 <= fit.damping <= 1:
            raise ValueError(
                "a baseline's alpha must be in (0, 1], its damping in [0, 1], n at least 1 and the figure not empty"
            )
        if fit.log and not fit.additive:
            raise ValueError("a baseline fitted on the log scale must have an additive figure")
        if not fit.additive and np.any(fit.seasonal <= 0):
            raise ValueError("a baseline's seasonal indices must be positive")
        return fit
