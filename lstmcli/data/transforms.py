"""Invertible transforms applied to a series before it reaches the LSTM (NumPy only).

Every transform is fitted on the TRAINING part of the series only (fitting on the whole series would
leak the future into the scaling) and is inverted exactly on the way out.  A :class:`Pipeline` chains
them; :func:`make_pipeline` builds one from the comma list a user gives on the command line.

Shapes
------
``fit``/``transform`` take a series ``(T,)``; the scalers also take ``(T, F)`` feature matrices and then
work per column.  ``inverse(z_future, history)`` takes forecasts in the transformed space with any
number of leading axes (``(horizon,)``, ``(n_paths, horizon)``, ``(batch, n_paths, horizon)``...) and
the untransformed values observed so far (``(T,)``, or with leading axes that broadcast against
``z_future``), and returns forecasts in the untransformed space with the shape of ``z_future``.

Examples
--------
>>> import numpy as np
>>> y = np.array([10.0, 12.0, 15.0, 19.0, 24.0])
>>> pipe = make_pipeline("diff,standard", season=1).fit(y)
>>> z = pipe.transform(y)             # 4 values: differences, standardised
>>> np.allclose(pipe.inverse(z[2:], history=y[:3]), y[3:])
True
"""

from __future__ import annotations

import math

import numpy as np

from lstmcli.errors import ConfigError, DataError, ModelFileError, OptionError, ValuesError

__all__ = [
    "TRANSFORM_NAMES",
    "DiffStandardScaler",
    "PowerTransform",
    "Difference",
    "Log",
    "MinMaxScaler",
    "Pipeline",
    "StandardScaler",
    "Transform",
    "make_pipeline",
    "transform_from_dict",
]

#: Names accepted by :func:`make_pipeline` (``--transform``).
TRANSFORM_NAMES = ("standard", "dstandard", "minmax", "log", "power", "diff", "sdiff", "none")

# A spread at or below this fraction of the data's magnitude is rounding noise, not variation.
_REL_TINY = 1e-12


def _as_float(y, what: str = "series") -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{what} must be 1-D (T,) or 2-D (T, F), got shape {arr.shape}")
    return arr


def _safe_scale(spread: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Replace a zero or negligible spread by 1.0 so that a constant series is not divided by zero."""
    spread = np.asarray(spread, dtype=np.float64)
    tiny = (spread <= _REL_TINY * np.asarray(magnitude)) | ~np.isfinite(spread) | (spread == 0.0)
    return np.where(tiny, 1.0, spread)


def _to_json(x):
    """Plain float for a scalar, list of floats for an array."""
    arr = np.asarray(x, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()


class Transform:
    """Base class of an invertible, fit-on-train transform.

    Subclasses set ``name`` and implement ``fit``, ``transform``, ``inverse`` and ``to_dict``.
    """

    name: str = "transform"

    #: How many leading values ``transform`` drops (a difference of lag m drops m).
    lost: int = 0

    def fit(self, y: np.ndarray, *, label: str = "the training data") -> Transform:
        """Learn the parameters from the training part ``y`` and return ``self``.

        ``label`` names the data in error messages (e.g. "column 'value'").
        """
        raise NotImplementedError

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Map ``y`` (untransformed) to the transformed space."""
        raise NotImplementedError

    def inverse(self, z_future: np.ndarray, history: np.ndarray) -> np.ndarray:
        """Map ``z_future``, the transformed values right after ``history``, back to the input space."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """JSON-serialisable parameters, including ``"name"``."""
        raise NotImplementedError

    def _check_fitted(self, *attrs: str) -> None:
        if any(getattr(self, a, None) is None for a in attrs):
            raise RuntimeError(f"{type(self).__name__} must be fitted before it is used")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict() if self._is_fitted() else 'unfitted'})"

    def _is_fitted(self) -> bool:
        return True


class StandardScaler(Transform):
    """``(y - mean) / std`` with population std; per column for ``(T, F)`` input.

    A constant training part (std zero or negligible) gets scale 1.0, so a constant series maps to
    zeros and is forecast back as the constant.
    """

    name = "standard"

    def __init__(self, mean=None, scale=None):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)

    def _is_fitted(self) -> bool:
        return self.mean is not None

    def fit(self, y, *, label: str = "the training data") -> StandardScaler:
        y = _as_float(y)
        if y.shape[0] == 0:
            raise DataError(f"cannot fit the standard scaler: {label} is empty")
        self.mean = np.mean(y, axis=0)
        std = np.std(y, axis=0)
        self.scale = _safe_scale(std, np.max(np.abs(y), axis=0))
        return self

    def transform(self, y) -> np.ndarray:
        self._check_fitted("mean", "scale")
        return (np.asarray(y, dtype=np.float64) - self.mean) / self.scale

    def inverse(self, z_future, history=None) -> np.ndarray:
        self._check_fitted("mean", "scale")
        return np.asarray(z_future, dtype=np.float64) * self.scale + self.mean

    def to_dict(self) -> dict:
        self._check_fitted("mean", "scale")
        return {"name": self.name, "mean": _to_json(self.mean), "scale": _to_json(self.scale)}


class MinMaxScaler(Transform):
    """``(y - min) / (max - min)``, mapping the training range to [0, 1]; per column for ``(T, F)``.

    A constant training part gets scale 1.0 (it maps to 0).
    """

    name = "minmax"

    def __init__(self, low=None, scale=None):
        self.low = None if low is None else np.asarray(low, dtype=np.float64)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)

    def _is_fitted(self) -> bool:
        return self.low is not None

    def fit(self, y, *, label: str = "the training data") -> MinMaxScaler:
        y = _as_float(y)
        if y.shape[0] == 0:
            raise DataError(f"cannot fit the min-max scaler: {label} is empty")
        self.low = np.min(y, axis=0)
        high = np.max(y, axis=0)
        self.scale = _safe_scale(high - self.low, np.maximum(np.abs(high), np.abs(self.low)))
        return self

    def transform(self, y) -> np.ndarray:
        self._check_fitted("low", "scale")
        return (np.asarray(y, dtype=np.float64) - self.low) / self.scale

    def inverse(self, z_future, history=None) -> np.ndarray:
        self._check_fitted("low", "scale")
        return np.asarray(z_future, dtype=np.float64) * self.scale + self.low

    def to_dict(self) -> dict:
        self._check_fitted("low", "scale")
        return {"name": self.name, "low": _to_json(self.low), "scale": _to_json(self.scale)}


class DiffStandardScaler(StandardScaler):
    """``(y - mean) / s`` where ``s`` is the std of the first differences of the training part.

    With windows normalised by their last value (``--normalize window``) the network sees and predicts
    changes, so the natural unit is the typical one-step change, not the spread of the levels (which a
    trend inflates). A training part without variation in its differences falls back to the level's
    std, then to 1.0. Works per column for ``(T, F)`` input; applied and stored as the standard scaler.
    """

    name = "dstandard"

    def fit(self, y, *, label: str = "the training data") -> DiffStandardScaler:
        y = _as_float(y)
        if y.shape[0] == 0:
            raise DataError(f"cannot fit the difference scaler: {label} is empty")
        self.mean = np.mean(y, axis=0)
        magnitude = np.max(np.abs(y), axis=0)
        level_std = _safe_scale(np.std(y, axis=0), magnitude)
        if y.shape[0] > 1:
            diff_std = np.std(np.diff(y, axis=0), axis=0)
            tiny = (diff_std <= _REL_TINY * magnitude) | ~np.isfinite(diff_std)
            self.scale = np.where(tiny, level_std, diff_std)
        else:
            self.scale = level_std
        return self


class Log(Transform):
    """Natural logarithm; needs strictly positive values.  Inverse is ``exp`` (inf on overflow)."""

    name = "log"

    def __init__(self):
        self.fitted = False
        self.label = "the series"

    def _is_fitted(self) -> bool:
        return self.fitted

    def fit(self, y, *, label: str = "the training data") -> Log:
        y = _as_float(y)
        self.label = label
        self._check_positive(y, f"{label} has a minimum of")
        self.fitted = True
        return self

    def _check_positive(self, y: np.ndarray, prefix: str) -> None:
        if y.size and not np.all(y > 0):  # also catches NaN
            finite = y[~np.isnan(y)]
            low = float(np.min(finite)) if finite.size else float("nan")
            raise ValuesError(f"log transform needs positive values; {prefix} {low:g}")

    def transform(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        self._check_positive(y, "the data to transform has a minimum of")
        return np.log(y)

    def inverse(self, z_future, history=None) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(np.asarray(z_future, dtype=np.float64))

    def to_dict(self) -> dict:
        return {"name": self.name}


class PowerTransform(Transform):
    """Box-Cox power transform ``(y**lam - 1) / lam`` (``log y`` for ``lam = 0``), positive values only.

    ``lam`` is chosen on the training part by Guerrero's method (the ``BoxCox.lambda`` default of R's
    forecast package): cut the series into consecutive blocks of ``max(season, 2)`` values and pick the
    ``lam`` in [0, 1] (log .. no transform) that makes ``sd / mean**(1 - lam)`` most alike across blocks,
    i.e. that stabilises the variance. A series whose spread grows with its level gets a log-like
    transform; one with a steady spread stays (nearly) as it is. Forecasts map back with
    ``(lam * z + 1)**(1 / lam)``, floored at 0, so a positive series is never forecast negative.
    """

    name = "power"

    def __init__(self, lam: float | None = None, season: int = 1):
        self.lam = None if lam is None else float(lam)
        self.season = int(season)

    def _is_fitted(self) -> bool:
        return self.lam is not None

    def fit(self, y, *, label: str = "the training data") -> PowerTransform:
        y = _as_float(y)
        if y.ndim != 1:
            raise ValueError("the power transform works on one series (T,)")
        if y.size and not np.all(y > 0):
            finite = y[~np.isnan(y)]
            low = float(np.min(finite)) if finite.size else float("nan")
            raise ValuesError(f"power transform needs positive values; {label} has a minimum of {low:g}")
        self.lam = guerrero_lambda(y, self.season)
        return self

    def transform(self, y) -> np.ndarray:
        self._check_fitted("lam")
        y = np.asarray(y, dtype=np.float64)
        if y.size and not np.all(y > 0):
            raise ValuesError(
                f"power transform needs positive values; the data has a minimum of {np.nanmin(y):g}"
            )
        if self.lam == 0.0:
            return np.log(y)
        return (y**self.lam - 1.0) / self.lam

    def inverse(self, z_future, history=None) -> np.ndarray:
        self._check_fitted("lam")
        z = np.asarray(z_future, dtype=np.float64)
        with np.errstate(over="ignore"):
            if self.lam == 0.0:
                return np.exp(z)
            return np.maximum(self.lam * z + 1.0, 0.0) ** (1.0 / self.lam)

    def to_dict(self) -> dict:
        self._check_fitted("lam")
        return {"name": self.name, "lam": float(self.lam), "season": self.season}


def guerrero_lambda(y: np.ndarray, season: int = 1, grid: np.ndarray | None = None) -> float:
    """Box-Cox lambda in [0, 1] by Guerrero (1993): the coefficient of variation of
    ``sd_i / mean_i**(1 - lam)`` over blocks of ``max(season, 2)`` consecutive values is minimised.
    Fewer than two complete blocks (or blocks without spread) give 1 (no transform)."""
    y = np.asarray(y, dtype=np.float64)
    period = max(int(season), 2)
    blocks = len(y) // period
    if blocks < 2:
        return 1.0
    x = y[len(y) - blocks * period :].reshape(blocks, period)
    mean = x.mean(axis=1)
    sd = x.std(axis=1, ddof=1)
    if np.any(mean <= 0) or not np.any(sd > 0):
        return 1.0
    grid = np.linspace(0.0, 1.0, 21) if grid is None else np.asarray(grid, dtype=np.float64)
    # every lambda at once, one row each (the per-row sums are those of one lambda at a time)
    ratio = sd[None, :] / mean[None, :] ** (1.0 - grid[:, None])
    centre = ratio.mean(axis=1)
    spread = ratio.std(axis=1, ddof=1)
    best, best_cv = 1.0, math.inf
    for lam, c, s in zip(grid.tolist(), centre.tolist(), spread.tolist(), strict=True):
        cv = s / c if c > 0 else math.inf
        if cv < best_cv - 1e-12:
            best, best_cv = float(lam), cv
    return best


class Difference(Transform):
    """Lag-``m`` differencing ``z[t] = y[t] - y[t-m]``: ``m=1`` removes a trend, ``m=season`` a season.

    ``transform`` returns ``T - lag`` values (the first ``lag`` have no predecessor).  ``inverse``
    rebuilds ``y[t] = z[t] + y[t-lag]`` over the horizon, starting from the last ``lag`` values of
    ``history``.
    """

    name = "diff"

    def __init__(self, lag: int = 1):
        if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 1:
            raise ConfigError(f"difference lag must be a whole number >= 1, got {lag!r}")
        self.lag = int(lag)
        self.lost = self.lag

    def fit(self, y, *, label: str = "the training data") -> Difference:
        y = _as_float(y)
        if y.shape[0] <= self.lag:
            what = "differencing" if self.lag == 1 else f"seasonal differencing with lag {self.lag}"
            raise DataError(f"{what} needs at least {self.lag + 1} training values; {label} has {y.shape[0]}")
        return self

    def transform(self, y) -> np.ndarray:
        """Differences along axis 0 (time): ``(T,)`` -> ``(T - lag,)``, ``(T, F)`` -> ``(T - lag, F)``."""
        y = np.asarray(y, dtype=np.float64)
        return y[self.lag :] - y[: -self.lag]

    def inverse(self, z_future, history) -> np.ndarray:
        z = np.asarray(z_future, dtype=np.float64)
        hist = np.asarray(history, dtype=np.float64)
        lag = self.lag
        if hist.ndim == 0 or hist.shape[-1] < lag:
            got = 0 if hist.ndim == 0 else hist.shape[-1]
            raise DataError(
                f"undoing a difference of lag {lag} needs the last {lag} observed values; got {got}"
            )
        if z.ndim == 0:
            raise ValueError("z_future must have a horizon axis")
        h = z.shape[-1]
        tail = hist[..., -lag:]
        lead = np.broadcast_shapes(z.shape[:-1], tail.shape[:-1])
        if h == 0:
            return np.empty(lead + (0,))
        # y[k*lag + j] = tail[j] + z[j] + z[lag + j] + ... + z[k*lag + j]: a cumulative sum per phase j,
        # which is exact and needs no Python loop over the horizon.
        k = math.ceil(h / lag)
        padded = np.zeros(z.shape[:-1] + (k * lag,))
        padded[..., :h] = z
        phases = padded.reshape(z.shape[:-1] + (k, lag))
        y = np.cumsum(phases, axis=-2) + tail[..., None, :]
        return y.reshape(y.shape[:-2] + (k * lag,))[..., :h]

    def to_dict(self) -> dict:
        return {"name": self.name, "lag": self.lag}


_CLASSES = {
    "standard": StandardScaler,
    "dstandard": DiffStandardScaler,
    "minmax": MinMaxScaler,
    "log": Log,
    "power": PowerTransform,
    "diff": Difference,
}


def transform_from_dict(d: dict) -> Transform:
    """Rebuild a fitted transform from :meth:`Transform.to_dict` output.

    Raises
    ------
    ModelFileError
        If the dictionary is not a valid transform description (a damaged model file).
    """
    if not isinstance(d, dict) or d.get("name") not in _CLASSES:
        name = d.get("name") if isinstance(d, dict) else d
        raise ModelFileError(
            f"unknown transform {name!r} in the model file; expected one of: {', '.join(_CLASSES)}"
        )
    name = d["name"]
    try:
        if name in ("standard", "dstandard"):
            t = _CLASSES[name](mean=d["mean"], scale=d["scale"])
            bad = not (np.all(np.isfinite(t.mean)) and np.all(np.isfinite(t.scale)) and np.all(t.scale > 0))
        elif name == "minmax":
            t = MinMaxScaler(low=d["low"], scale=d["scale"])
            bad = not (np.all(np.isfinite(t.low)) and np.all(np.isfinite(t.scale)) and np.all(t.scale > 0))
        elif name == "log":
            t = Log()
            t.fitted = True
            bad = False
        elif name == "power":
            t = PowerTransform(lam=d["lam"], season=d.get("season", 1))
            bad = not (math.isfinite(t.lam) and 0.0 <= t.lam <= 1.0)
        else:
            t = Difference(lag=d["lag"])
            bad = False
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise ModelFileError(f"damaged '{name}' transform in the model file ({exc})") from None
    if bad:
        raise ModelFileError(f"damaged '{name}' transform in the model file (non-finite or zero scale)")
    return t


class Pipeline:
    """A chain of transforms applied in order and inverted in reverse order.

    Attributes
    ----------
    steps : list of Transform
    """

    def __init__(self, steps=None):
        self.steps: list[Transform] = list(steps or [])

    @property
    def lost(self) -> int:
        """Leading values the pipeline drops: the sum of the difference lags."""
        return sum(s.lost for s in self.steps)

    def fit(self, y_train, *, label: str = "the training data") -> Pipeline:
        """Fit step k on the output of steps < k applied to ``y_train``; return ``self``."""
        cur = _as_float(y_train)
        for step in self.steps:
            step.fit(cur, label=label)
            cur = step.transform(cur)
        return self

    def transform(self, y) -> np.ndarray:
        """Apply every step; the result is ``lost`` values shorter than ``y``."""
        cur = np.asarray(y, dtype=np.float64)
        for step in self.steps:
            cur = step.transform(cur)
        return cur

    def inverse(self, z_future, history) -> np.ndarray:
        """Undo every step for forecasts ``z_future`` that follow the untransformed ``history``.

        The history each step needs (its own input space) is rebuilt by applying the earlier steps to
        ``history``; then the steps are inverted last to first.

        Parameters
        ----------
        z_future : numpy.ndarray
            ``(..., horizon)`` forecasts in the transformed space.
        history : numpy.ndarray
            ``(T,)`` untransformed values up to the forecast origin, or ``(..., T)`` one history per
            leading index (time last), broadcasting against ``z_future``.

        Returns
        -------
        numpy.ndarray
            ``(..., horizon)`` forecasts in the original units.
        """
        hist = np.asarray(history, dtype=np.float64)
        # Every step is elementwise or a difference of some lag, so the inverse reads only the last
        # `lost + lag` values of the history: transforming just those keeps it O(1) per origin, with the
        # very same numbers (a validation of many origins would otherwise be quadratic in the series).
        keep = 2 * self.lost + 1
        if hist.ndim and hist.shape[-1] > keep:
            hist = hist[..., -keep:]
        # Transforms work along axis 0 (time); a batch of histories (..., T) has time last.
        cur = np.moveaxis(hist, -1, 0) if hist.ndim > 1 else hist
        histories = [hist]
        for step in self.steps[:-1]:
            cur = step.transform(cur)
            histories.append(np.moveaxis(cur, 0, -1) if hist.ndim > 1 else cur)
        out = np.asarray(z_future, dtype=np.float64)
        for step, h in zip(reversed(self.steps), reversed(histories[: len(self.steps)]), strict=True):
            out = step.inverse(out, h)
        return out

    def to_dict(self) -> list[dict]:
        """JSON-serialisable list of the steps' parameters."""
        return [s.to_dict() for s in self.steps]

    @classmethod
    def from_dict(cls, items) -> Pipeline:
        """Rebuild a fitted pipeline from :meth:`to_dict` output (ModelFileError if damaged)."""
        if not isinstance(items, (list, tuple)):
            raise ModelFileError(f"damaged transform list in the model file (got {type(items).__name__})")
        return cls([transform_from_dict(d) for d in items])

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"Pipeline({self.steps!r})"


def transform_names(spec: str) -> list[str]:
    """``--transform``'s names, checked (``make_pipeline`` builds them; the command line checks them
    before it reads the data, so that a wrong name is one line): ["none"] for none or an empty spec.
    Raises OptionError for an unknown name, "none" or "auto" in a list, or log or power given twice."""
    if not isinstance(spec, str):
        raise OptionError(f"--transform must be a comma list of names, got {spec!r}")
    names = [n.strip().lower() for n in spec.split(",")]
    if all(n == "" for n in names):
        names = ["none"]
    if "auto" in names:  # (alone, the forecaster resolves it before it gets here)
        raise OptionError(
            f"--transform {spec!r}: 'auto' stands alone (it chooses power,dstandard or dstandard); give "
            "either 'auto' or a list of names"
        )
    # a second log or power transform takes the logarithm of logarithms (of values that may be negative by
    # then); other names may repeat: "diff,diff" is the second difference, a second scaling a no-op
    repeated = sorted({n for n in names if n in ("log", "power") and names.count(n) > 1})
    if repeated:
        raise OptionError(f"--transform {spec!r}: '{repeated[0]}' is given twice; give each transform once")
    for n in names:
        if n not in TRANSFORM_NAMES:
            shown = n if n else "(empty)"
            raise OptionError(
                f"--transform {spec!r}: unknown transform '{shown}'; valid names: auto (the default, alone) or "
                f"a list of {', '.join(TRANSFORM_NAMES)}"
            )
    if "none" in names and len(names) > 1:
        raise OptionError(f"--transform {spec!r}: 'none' cannot be combined with other transforms")
    return names


def make_pipeline(spec: str, season: int) -> Pipeline:
    """Build an unfitted pipeline from a comma list such as ``"log,sdiff,standard"``.

    Parameters
    ----------
    spec : str
        Comma-separated names from :data:`TRANSFORM_NAMES` (case and spaces ignored); ``"none"`` (or an
        empty string) gives an empty pipeline.  ``"sdiff"`` is a difference of lag ``season``.
    season : int
        Seasonal period, e.g. from :func:`lstmcli.data.loader.season_length`.

    Raises
    ------
    ConfigError
        Unknown name (the message lists the valid ones), "none" or "auto" mixed with others, log or
        power given twice, or a bad season.
    """
    names = transform_names(spec)
    if names == ["none"]:
        return Pipeline([])
    steps: list[Transform] = []
    for n in names:
        if n == "sdiff":
            if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
                raise ConfigError(f"--transform sdiff needs a seasonal period >= 1, got {season!r}")
            steps.append(Difference(lag=int(season)))
        elif n == "diff":
            steps.append(Difference(lag=1))
        elif n == "power":
            steps.append(PowerTransform(season=int(season) if isinstance(season, (int, np.integer)) else 1))
        else:
            steps.append(_CLASSES[n]())
    return Pipeline(steps)
