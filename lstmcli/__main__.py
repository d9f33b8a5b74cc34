"""`python -m lstmcli` and the `lstmcli` console script run the command line."""

import sys


def main() -> None:
    """Run the command line. Ctrl-C while it is still starting (importing Typer, Rich, ...) ends it as
    Ctrl-C does later on (Typer's exit code 130, no traceback); the imports are here, inside the
    ``try``, for that reason."""
    try:
        from lstmcli.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":  # not when a worker process imports the main module (forecasting.members)
    main()
