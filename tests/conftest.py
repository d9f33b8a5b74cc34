import os
import signal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Property-based tests draw the same examples on every run by default, so the suite (and CI) passes or
# fails the same way each time; HYPOTHESIS_PROFILE=explore draws new examples, to hunt for new failures.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# A suite started in the background (`nohup`, `cmd &` in a script) inherits SIGINT and SIGHUP ignored,
# and so would every command the tests start, while the tests send them what a terminal's Ctrl-C and a
# hang-up send: the commands get these signals as a terminal leaves them, whatever started the suite.
signal.signal(signal.SIGINT, signal.default_int_handler)
if hasattr(signal, "SIGHUP"):
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture
def runner(monkeypatch):
    """The command line as a user at a 120-column terminal without colour sees it."""
    from typer.testing import CliRunner

    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


@pytest.fixture
def cwd(tmp_path, monkeypatch) -> Path:
    """A fresh working directory (a command's default output files land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="session")
def air_passengers_csv() -> Path:
    return SAMPLE_DATA / "air_passengers.csv"


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, air_passengers_csv) -> Path:
    """A tiny model trained on the air-passenger sample (a few epochs: shape and plumbing, not accuracy)."""
    from lstmcli.data.loader import load_csv
    from lstmcli.forecasting.config import ForecasterConfig
    from lstmcli.forecasting.forecaster import Forecaster

    path = tmp_path_factory.mktemp("model") / "model.npz"
    config = ForecasterConfig(hidden=4, epochs=3, seed=0)
    Forecaster(config).fit(load_csv(air_passengers_csv)).save(path)
    return path


def ctrl_c_after(polls: int) -> type:
    """train's Ctrl-C handler (``cli.train._Interrupts``) as if Ctrl-C were pressed once, after training
    asked whether to stop ``polls`` times (before each batch, or each series' task): no timing."""
    from lstmcli.cli import train as train_cmd

    class Pressed(train_cmd._Interrupts):
        asked = 0

        @property
        def requested(self):
            Pressed.asked += 1
            return Pressed.asked > polls

        @requested.setter
        def requested(self, value):
            pass

    return Pressed
