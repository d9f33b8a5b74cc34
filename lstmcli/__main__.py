"""`python -m lstmcli` and the `lstmcli` console script run the command line."""

import signal
import sys

_terminated = False


def _on_sigterm(signum: int, frame: object) -> None:
    global _terminated
    _terminated = True
    raise KeyboardInterrupt


def main() -> None:
    """Run the command line. Ctrl-C while it is still starting (importing Typer, Rich, ...) ends it as
    Ctrl-C does later on (Typer's exit code 130, no traceback); the imports are here, inside the
    ``try``, for that reason. SIGTERM (a job scheduler's stop, ``kill``) stops a command as a second
    Ctrl-C does -- worker processes are told to stop within a batch, nothing is written, a temporary
    file is removed -- and then ends the process by SIGTERM, as the signal would have; by default it
    would end this process alone and leave its workers computing."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from lstmcli.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        if _terminated:
            _release_process_resources()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)


def _release_process_resources() -> None:
    """What the interpreter's exit would do for multiprocessing (its at-exit hook: the finalizers that
    unlink the semaphores of the workers' queues and stop events, and the children's end), which a
    process ended by a signal skips: its resource tracker then warned of "leaked semaphore objects"."""
    if "multiprocessing.util" in sys.modules:
        try:
            sys.modules["multiprocessing.util"]._exit_function()
        except Exception:  # (a private hook: a Python without it leaves the warning, nothing worse)
            pass


if __name__ == "__main__":  # not when a worker process imports the main module (forecasting.members)
    main()
