"""Dependencies point one way: the NumPy core never imports the CLI, Typer or Rich."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_core_imports_no_ui():
    code = (
        "import sys\n"
        "import lstmcli.engine.network, lstmcli.engine.training, lstmcli.forecasting.forecaster\n"
        "import lstmcli.forecasting.backtest, lstmcli.modelfile, lstmcli.data.loader\n"
        "print(sorted(m for m in ('typer', 'rich', 'lstmcli.cli') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_engine_imports_no_pandas():
    code = "import sys, lstmcli.engine.training; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"
