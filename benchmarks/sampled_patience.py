"""Does the sampled-epoch patience (``members.sampled_patience``) cost accuracy? A proxy small enough to
run: the 1,000-series synthetic panel (``synthetic_panel.py``, seed 0, horizon 18) with the epoch sample
and the validation sample shrunk (EPOCH_WINDOWS 8,192, VAL_WINDOWS 4,096) so that the pool is some 4-6
times the sample, as at 20,000 series with the real budgets; trained once with the patience scaled
(the code as it is: 10 epochs) and once with the full 30 (``sampled_patience`` replaced by the
identity). Prints the epochs, the validation OWA and the CPU seconds of each (one process, one core).

    nice -n 10 python benchmarks/sampled_patience.py --series 1000 --mode scaled
    nice -n 10 python benchmarks/sampled_patience.py --series 1000 --mode full
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_panel import synthetic_panel  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--mode", choices=("scaled", "full"), required=True)
    ap.add_argument("--seed", type=int, default=0, help="the training's seed (the panel's is 0)")
    ap.add_argument("--epoch-windows", type=int, default=1 << 13)
    ap.add_argument("--val-windows", type=int, default=1 << 12)
    a = ap.parse_args()
    from lstmcli.data.panel import load_panel
    from lstmcli.forecasting import ensemble, panel, panel_global
    from lstmcli.forecasting.config import ForecasterConfig

    panel_global.EPOCH_WINDOWS, panel_global.VAL_WINDOWS = a.epoch_windows, a.val_windows
    if a.mode == "full":
        ensemble.sampled_patience = lambda patience, pool, sample: patience
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "panel.csv"
        synthetic_panel(a.series, 72, 0).to_csv(path, index=False, date_format="%Y-%m-%d")
        data = load_panel(path, id_col="unique_id")
        clock = time.process_time()
        model = panel.PanelForecaster(ForecasterConfig(horizon=18, seed=a.seed), mode="global").fit(
            data, threads=1
        )
        cpu = time.process_time() - clock
    st = model.state_
    lstm = st.validation["LSTM"]
    print(json.dumps({
        "series": a.series, "mode": a.mode, "seed": a.seed, "epochs": st.train_result.epochs_run,
        "best": st.train_result.best_epoch, "member_epochs": st.first.member_epochs,
        "owa": lstm["OWA"], "smape": lstm["sMAPE"], "mase": lstm["MASE"], "cpu": round(cpu, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
