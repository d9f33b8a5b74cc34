"""`python -m lstmcli` and the `lstmcli` console script run the command line."""

import signal
import sys


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Run the command line. Ctrl-C while it is still starting (importing Typer, Rich, ...) ends it as
    Ctrl-C does later on (Typer's exit code 130, no traceback); the imports are here, inside the
    ``try``, for that reason. SIGTERM (a job scheduler's stop, ``kill``) ends a command as a second
    Ctrl-C does: worker processes are told to stop within a batch and nothing is written, where the
    default would end this process alone and leave its workers computing."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        from lstmcli.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":  # not when a worker process imports the main module (forecasting.members)
    main()
