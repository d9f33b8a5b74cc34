"""The command line: thin typed commands over the core (``lstmcli.data``, ``.engine``, ``.forecasting``).

Each command parses its options, calls the core, renders with Rich and exits. Core code raises
``LstmcliError`` for anything a user can fix; it is translated here, once, into one line on stderr and
exit code 1. Usage errors are Typer's (exit code 2). Heavy imports (pandas, the engine) happen inside
the commands, so ``lstmcli --help`` stays quick.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lstmcli import __version__
from lstmcli.cli import backtest, inspect_cmd, predict, train

app = typer.Typer(
    name="lstmcli",
    help=(
        "Forecast a time series from a CSV with an LSTM written in NumPy, and see what every gate does.\n\n"
        "Start with:  lstmcli train sample_data/ice_cream.csv   then   lstmcli predict --horizon 12   "
        "then   lstmcli inspect"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lstmcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Forecast a time series from a CSV with an LSTM written in NumPy."""


# The commands, in the order --help lists them; their modules import the core lazily.
app.command()(train.train)
app.command()(backtest.backtest)
app.command()(predict.predict)
app.command("inspect")(inspect_cmd.inspect_cmd)


def main() -> None:
    """Console-script entry point."""
    app()
