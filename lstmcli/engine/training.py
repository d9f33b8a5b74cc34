"""Mini-batch training with early stopping; it reports through callbacks and never prints.

One ``np.random.Generator`` drives every random choice (initial weights are drawn by the caller with
the same generator, then batch order and dropout here), so the same data, settings and seed give the
same weights bit for bit on the same machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lstmcli.engine.losses import LOSSES
from lstmcli.engine.network import LSTMNetwork
from lstmcli.engine.optim import Adam, clip_global_norm
from lstmcli.engine.threads import one_blas_thread

_PREDICT_CHUNK = 4096  # windows per forward pass when evaluating, to bound memory


@dataclass(frozen=True)
class TrainConfig:
    """How to train (saved in the model file next to the architecture)."""

    epochs: int = 300  # upper bound; early stopping usually ends sooner
    batch_size: int = 32
    lr: float = 3e-3  # Adam's learning rate
    loss: str = "mse"  # mse | mae | huber
    clip_norm: float = 1.0  # global gradient-norm clip (0 = off)
    weight_decay: float = 0.0  # L2 penalty added to the gradient (Adam's, not AdamW's)
    patience: int = 30  # epochs without improvement before stopping (0 = never stop early)
    seed: int = 0
    # windows an epoch trains on, drawn afresh each epoch with the seed; 0 = every window once (a big
    # panel's pool of windows would otherwise make each epoch, and so the run, grow with the panel)
    epoch_windows: int = 0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")
        if self.epoch_windows < 0:
            raise ValueError("epoch_windows must be 0 (every window) or more")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EpochReport:
    """What the caller hears after every epoch (the CLI turns it into a progress bar)."""

    epoch: int  # 1-based
    epochs: int  # the configured maximum
    train_loss: float
    val_loss: float | None
    best_epoch: int
    best_loss: float
    seconds: float  # since training started


@dataclass
class TrainResult:
    """The outcome; the network holds the best weights seen when ``fit`` returns."""

    stop_reason: str  # "completed" | "early_stopping" | "interrupted" | "diverged"
    epochs_run: int
    best_epoch: int  # 0 when no epoch finished (then the weights are the initial ones)
    best_loss: float  # validation loss when there is validation data, else training loss
    monitored: str  # "validation" | "training"
    seconds: float
    history: list[dict[str, float | None]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def predict_in_chunks(net: LSTMNetwork, x: np.ndarray) -> np.ndarray:
    """(N, T, D) -> (N, O) without dropout, in chunks so that memory stays bounded."""
    if len(x) <= _PREDICT_CHUNK:
        return net.predict(x).copy()
    return np.concatenate([net.predict(x[k : k + _PREDICT_CHUNK]) for k in range(0, len(x), _PREDICT_CHUNK)])


def fit(
    net: LSTMNetwork,
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    rng: np.random.Generator,
    *,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train ``net`` in place on windows ``x`` (N, T, D) with targets ``y`` (N, O).

    Early stopping watches the validation loss when validation windows are given (else the training
    loss) and restores the best weights at the end. ``should_stop`` is polled after every batch, so an
    interruption (Ctrl-C in the CLI) takes effect within one batch. A non-finite loss or gradient stops
    training as "diverged", keeping the best weights seen before it. It runs on one core
    (``engine.threads``).
    """
    # Overflow to inf/NaN is detected and handled as divergence below, not warned about.
    with one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
        return _fit(net, x, y, config, rng, x_val, y_val, on_epoch, should_stop)


def _fit(
    net: LSTMNetwork,
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    rng: np.random.Generator,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    on_epoch: Callable[[EpochReport], None] | None,
    should_stop: Callable[[], bool] | None,
) -> TrainResult:
    dtype = net.dtype
    x = np.ascontiguousarray(x, dtype=dtype)
    y = np.ascontiguousarray(y, dtype=dtype)
    has_val = x_val is not None and y_val is not None and len(x_val) > 0
    if has_val:
        x_val = np.ascontiguousarray(x_val, dtype=dtype)
        y_val = np.ascontiguousarray(y_val, dtype=dtype)
    loss_fn = LOSSES[config.loss]
    adam = Adam(net.flat_params.size, dtype, lr=config.lr, weight_decay=config.weight_decay)
    best_params = net.flat_params.copy()
    best_loss, best_epoch = math.inf, 0
    history: list[dict[str, float | None]] = []
    n = len(x)
    sampled = 0 < config.epoch_windows < n
    start = time.perf_counter()
    stop_reason = "completed"
    epoch = 0

    def result(reason: str) -> TrainResult:
        net.flat_params[...] = best_params
        return TrainResult(
            stop_reason=reason,
            epochs_run=epoch if reason in ("completed", "early_stopping") else epoch - 1,
            best_epoch=best_epoch,
            best_loss=best_loss,
            monitored="validation" if has_val else "training",
            seconds=time.perf_counter() - start,
            history=history,
        )

    for epoch in range(1, config.epochs + 1):  # noqa: B007  (read by result())
        order = rng.permutation(n)
        if sampled:  # a sample without replacement, in random order
            order = order[: config.epoch_windows]
        total = 0.0
        for k in range(0, len(order), config.batch_size):
            idx = order[k : k + config.batch_size]
            pred, cache = net.forward(x[idx], training=True, rng=rng)
            value, dpred = loss_fn(pred, y[idx])
            net.backward(dpred, cache)
            norm = clip_global_norm(net.flat_grads, config.clip_norm)
            if not (math.isfinite(value) and math.isfinite(norm)):
                return result("diverged")
            adam.step(net.flat_params, net.flat_grads)
            total += value * len(idx)
            if should_stop is not None and should_stop():
                return result("interrupted")
        train_loss = total / len(order)
        val_loss = loss_fn(predict_in_chunks(net, x_val), y_val)[0] if has_val else None
        monitored = val_loss if has_val else train_loss
        if not (math.isfinite(train_loss) and (monitored is None or math.isfinite(monitored))):
            return result("diverged")
        if monitored < best_loss:
            best_loss, best_epoch = monitored, epoch
            best_params[...] = net.flat_params
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
        if on_epoch is not None:
            on_epoch(
                EpochReport(
                    epoch,
                    config.epochs,
                    train_loss,
                    val_loss,
                    best_epoch,
                    best_loss,
                    time.perf_counter() - start,
                )
            )
        if config.patience and epoch - best_epoch >= config.patience:
            stop_reason = "early_stopping"
            break
    return result(stop_reason)
