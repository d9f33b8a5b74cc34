"""Every setting of a forecaster, in a module light enough for the CLI to import at start-up."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from lstmcli.errors import ConfigError, OptionError

STRATEGIES = ("recursive", "direct")
NORMALIZATIONS = ("window", "ses", "none")
DESEASONALIZE = ("auto", "none")
MONITORS = ("forecast", "loss")
LOSSES = ("mse", "mae", "huber")  # engine.losses.LOSSES by name
COMBINES = ("auto", "none", "theta", "theta+es", "theta+es+arima")
# the baselines each combination averages with the networks' forecast (fitting.combined)
COMBINED_BASELINES = {
    "none": (), "theta": ("Theta",), "theta+es": ("Theta", "ES"), "theta+es+arima": ("Theta", "ES", "ARIMA"),
}  # fmt: skip
# predict --method: the model's own forecast, or a baseline (by the name the tables give it)
METHODS = {
    "lstm": "LSTM", "naive": "Naive", "snaive": "Seasonal naive", "naive2": "Naive2", "theta": "Theta", "es": "ES",
    "arima": "ARIMA",
}  # fmt: skip

# The largest settings lstmcli trains and reads back, in one place: the command line's options, the
# checks below and the model-file loader (which refuses a file asking for more) all use these, so a model
# that `train` writes is always one that `predict` reads. They are far beyond any useful model; they
# bound the work a hostile model file can ask for.
MAX_LAYERS = 64
MAX_HIDDEN = 1 << 16
MAX_ENSEMBLE = 1000
MAX_HORIZON = 100_000  # steps forecast at once (train, backtest, predict and a model file's own)


def forecast_request(horizon: Any, levels: Any) -> tuple[int, tuple[float, ...]]:
    """A forecast's horizon and interval levels as ``predict`` takes them, checked (the Python API's
    callers pass them unchecked): a whole number of steps, and ``checked_levels``."""
    if (
        isinstance(horizon, bool)
        or not isinstance(horizon, numbers.Integral)
        or not 1 <= horizon <= MAX_HORIZON
    ):
        raise ConfigError(f"--horizon must be a whole number from 1 to {MAX_HORIZON}, got {horizon!r}")
    return int(horizon), checked_levels(levels)


def a_percent(value: float) -> str:
    """ "a 95 %", "an 80 %" (eighty, eleven and eighteen are said with a vowel)."""
    text = f"{value:g}"
    vowel = text.startswith("8") or (text[:2] in ("11", "18") and not text[2:3].isdigit())
    return f"{'an' if vowel else 'a'} {text} %"


def checked_levels(levels: Any) -> tuple[float, ...]:
    """Interval levels, one or a sequence, each a percentage from 1 to below 100 (darts' and sktime's 0.8
    for 80 % would ask for a 0.8 % interval: the error says so)."""
    asked = (levels,) if isinstance(levels, numbers.Real) else tuple(levels)
    for level in asked:
        if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 1 <= level < 100:
            fraction = isinstance(level, float) and 0 < level < 1
            hint = f" ({100 * level:g} for {a_percent(100 * level)} interval)" if fraction else ""
            raise ConfigError(f"--level must be a percentage from 1 to below 100{hint}, got {level!r}")
    return asked


@dataclass(frozen=True)
class ForecasterConfig:
    """Every setting of a forecaster; ``None`` means "choose from the data" (recorded once chosen)."""

    # input steps per window; None = 2 seasons (at least 8) for the first ensemble member and 1, 1.5, 3
    # and 4 seasons for the others, each capped by the data
    lookback: int | None = None
    horizon: int | None = None  # steps validated (and predicted by default); None = one season (at least 1)
    season: int | None = None  # season length m; None = from the frequency (monthly 12, quarterly 4, ...)
    strategy: str = "recursive"  # recursive: one step ahead, fed back | direct: all horizon steps at once
    # pipeline spec, e.g. "standard", "log,standard", "log,sdiff,standard"; "auto" = "power,dstandard"
    # (Box-Cox, lambda by Guerrero, then scaling by the typical one-step change) for a positive seasonal
    # series, "dstandard" for any other
    transform: str = "auto"
    # auto: divide by classical multiplicative seasonal indices (of the last 8 seasons) when the M4 90%
    # seasonality test passes on a positive series | none
    deseasonalize: str = "auto"
    # window: subtract each window's last value | ses: its exponentially smoothed level | none
    normalize: str = "window"
    hidden: int = 32
    layers: int = 1
    dropout: float = 0.0
    epochs: int = 300
    batch_size: int = 32
    lr: float = 3e-3
    loss: str = "huber"
    clip_norm: float = 1.0
    weight_decay: float = 0.0
    patience: int = 30  # 0 = no early stopping
    # what early stopping watches: "forecast" = the multi-step forecast error from the validation origins,
    # "loss" = the one-step training loss on the validation windows
    monitor: str = "loss"
    val_size: float = 0.2  # fraction (< 1) or count (>= 1) of windows held out for validation
    ensemble: int = 5  # networks (own seed and lookback each); the forecast is their median
    refit: bool = True  # after early stopping chose the epochs, train again on all of the data
    seed: int = 0
    dtype: str = "float32"
    # theta+es: the forecast is the mean of the ensemble's median, the Theta and the ES forecasts (M4's
    # combination benchmark is a plain mean too) | theta+es+arima: and the ARIMA forecast | theta: of the
    # first two | none: the ensemble's | auto (the default, from the full M1/M3 benchmark of issue #21):
    # for a network that sees the target alone, theta+es+arima without a season, theta+es with a season of
    # at most 12; none when other inputs move it or the season is longer (``resolve_combine``). Model
    # files without it are "none"
    combine: str = "auto"
    # inputs known in advance, derived from the dates (lstmcli.data.calendar): sin/cos of the calendar
    # cycles the frequency can see, and a public-holiday flag of this country (ISO code, e.g. "US")
    calendar: bool = False
    holidays: str | None = None

    def __post_init__(self) -> None:
        self._check_types()
        if self.strategy not in STRATEGIES:
            raise OptionError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.normalize not in NORMALIZATIONS:
            raise OptionError(
                f"--normalize must be one of {', '.join(NORMALIZATIONS)}, got {self.normalize!r}"
            )
        for name in ("lookback", "horizon", "season"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise OptionError(f"--{name} must be at least 1, got {value}")
        if self.monitor not in MONITORS:
            raise OptionError(f"--monitor must be one of {', '.join(MONITORS)}, got {self.monitor!r}")
        if self.combine not in COMBINES:
            raise OptionError(f"--combine must be one of {', '.join(COMBINES)}, got {self.combine!r}")
        if self.deseasonalize not in DESEASONALIZE:
            raise OptionError(
                f"--deseasonalize must be one of {', '.join(DESEASONALIZE)}, got {self.deseasonalize!r}"
            )
        for name in ("hidden", "layers", "epochs", "batch_size", "ensemble"):
            if getattr(self, name) < 1:
                raise OptionError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name, most in (("layers", MAX_LAYERS), ("hidden", MAX_HIDDEN), ("ensemble", MAX_ENSEMBLE)):
            if getattr(self, name) > most:
                raise OptionError(f"--{name} must be at most {most}, got {getattr(self, name)}")
        if self.horizon is not None and self.horizon > MAX_HORIZON:
            raise OptionError(f"--horizon must be at most {MAX_HORIZON}, got {self.horizon}")
        if self.seed < 0:
            raise OptionError(f"--seed must be 0 or more, got {self.seed}")
        if not 0.0 <= self.dropout < 1.0:
            raise OptionError(f"--dropout must be in [0, 1), got {self.dropout}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise OptionError(f"--lr must be a positive number, got {self.lr}")
        if self.patience < 0:
            raise OptionError(f"--patience must be 0 (off) or more, got {self.patience}")
        if (
            not math.isfinite(self.val_size)
            or self.val_size < 0
            or (self.val_size >= 1 and self.val_size != int(self.val_size))
        ):
            raise OptionError(
                f"--val-size must be a fraction in [0, 1) or a whole count, got {self.val_size}"
            )
        if self.loss not in LOSSES:
            raise OptionError(f"--loss must be one of mse, mae, huber, got {self.loss!r}")
        if self.dtype not in ("float32", "float64"):
            raise OptionError(f"--dtype must be float32 or float64, got {self.dtype!r}")
        for name in ("clip_norm", "weight_decay"):
            if not (getattr(self, name) >= 0 and math.isfinite(getattr(self, name))):
                raise OptionError(f"{name} must be 0 (off) or a positive number, got {getattr(self, name)}")

    def _check_types(self) -> None:
        """One line for a setting of the wrong type (the Python API's users pass them unchecked: "32" for
        hidden, 2.5 epochs); NumPy numbers become Python's, which the model file's JSON can hold."""
        for f in fields(self):
            value = getattr(self, f.name)
            kind, _, optional = str(f.type).partition(" | ")
            if value is None and optional == "None":
                continue
            if kind == "int" and isinstance(value, numbers.Integral) and not isinstance(value, bool):
                object.__setattr__(self, f.name, int(value))
            elif kind == "float" and isinstance(value, numbers.Real) and not isinstance(value, bool):
                if type(value) is not int:  # a count of windows (val_size 10) stays one
                    object.__setattr__(self, f.name, float(value))
            elif kind == "str" and isinstance(value, str) or kind == "bool" and isinstance(value, bool):
                pass
            else:
                wanted = {
                    "int": "a whole number",
                    "float": "a number",
                    "str": "a string",
                    "bool": "True or False",
                }
                raise OptionError(
                    f"--{f.name.replace('_', '-')} must be {wanted[kind]}"
                    f"{' or None' if optional else ''}, got {value!r} ({type(value).__name__})"
                )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # written only when used, so that a model without them is the same file as before they existed
        for name in ("calendar", "holidays"):
            if not d[name]:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ForecasterConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# "auto" combines for seasons up to monthly data's: the M1/M3 benchmark measured the combination there
# (m = 1, 4, 12); with longer seasons (hourly data's 24) Theta and ES have one fixed seasonal figure for
# what is several cycles, and on the M4 hourly subset the combination cost 0.3 OWA (RESULTS.md)
LONGEST_COMBINED_SEASON = 12


def resolve_combine(config: ForecasterConfig, has_inputs: bool, season: int) -> ForecasterConfig:
    """``combine`` "auto" as a fit decides it: when the network sees the target alone, "theta+es+arima"
    for a series without a season (``season`` 1) and "theta+es" for a season of at most
    ``LONGEST_COMBINED_SEASON``; "none" when inputs move it (--features, inputs known in advance, static
    features: the classical members see none of them, so the mean would shrink what they move, a
    promotion's lift of 30 showing as 10) or the season is longer. Other values stay.

    ARIMA joins only without a season: on M1 and M3 it helped the yearly series and cost the monthly and
    quarterly ones (RESULTS.md "Accuracy on M1 and M3")."""
    if config.combine != "auto":
        return config
    if has_inputs or season > LONGEST_COMBINED_SEASON:
        return replace(config, combine="none")
    return replace(config, combine="theta+es+arima" if season <= 1 else "theta+es")
