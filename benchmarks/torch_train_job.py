"""The job `lstmcli train` does, written as a user would write it in PyTorch (the yardstick of
bench_cli.py). Same data, windows, normalisation, network, loss, Adam, clipping, batch size, epochs,
validation every epoch, and one thread.

    python benchmarks/torch_train_job.py sample_data/ice_cream.csv --epochs 100 --out /tmp/m.pt
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("csv")
    p.add_argument("--lookback", type=int, default=24)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="model.pt")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    y = pd.read_csv(a.csv, parse_dates=["date"])["value"].to_numpy(np.float64)
    n_windows = len(y) - a.lookback
    n_val = int(round(a.val_fraction * n_windows))
    train_end = len(y) - n_val
    mean, std = y[:train_end].mean(), y[:train_end].std()
    z = (y - mean) / std
    w = np.lib.stride_tricks.sliding_window_view(z, a.lookback + 1)
    level = w[:, a.lookback - 1 : a.lookback]
    w = (w - level).astype(np.float32)  # each window relative to its last value
    x, t = torch.tensor(w[:, : a.lookback, None]), torch.tensor(w[:, a.lookback :])
    x_train, t_train, x_val, t_val = x[:-n_val], t[:-n_val], x[-n_val:], t[-n_val:]

    lstm = torch.nn.LSTM(1, a.hidden, batch_first=True)
    head = torch.nn.Linear(a.hidden, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)
    loss_fn = torch.nn.MSELoss()
    best = float("inf")
    for _ in range(a.epochs):
        order = torch.randperm(len(x_train))
        for k in range(0, len(order), a.batch_size):
            idx = order[k : k + a.batch_size]
            out, _ = lstm(x_train[idx])
            loss = loss_fn(head(out[:, -1]), t_train[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        with torch.no_grad():
            out, _ = lstm(x_val)
            val = loss_fn(head(out[:, -1]), t_val).item()
        if val < best:
            best = val
            state = {**{f"lstm.{k}": v.clone() for k, v in lstm.state_dict().items()},
                     **{f"head.{k}": v.clone() for k, v in head.state_dict().items()}}  # fmt: skip
    torch.save(state, a.out)
    print(f"best validation loss {best:.4f}")


if __name__ == "__main__":
    main()
