#!/usr/bin/env bash
# The README's pictures, from the bundled samples: bash docs/make_pictures.sh
# (needs the plot extra: pip install ".[plot]"). The same lstmcli and matplotlib give the same files.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python -m lstmcli train sample_data/ice_cream.csv -m "$tmp/model.npz" --quiet --format json > /dev/null
python -m lstmcli predict -m "$tmp/model.npz" --horizon 24 --level 80 --level 95 --plot docs/predict.png > /dev/null
python -m lstmcli inspect -m "$tmp/model.npz" --member 3 --units 16 --plot docs/inspect.png > /dev/null
python -m lstmcli backtest sample_data/ice_cream.csv --windows 4 --level 80 --level 95 --plot docs/backtest.png > /dev/null
python -m lstmcli train sample_data/monthly_panel.csv --id-col series -m "$tmp/panel.npz" --quiet --format json > /dev/null
python -m lstmcli predict -m "$tmp/panel.npz" --horizon 24 --level 80 --level 95 --plot docs/panel.png > /dev/null
ls -l docs/*.png
