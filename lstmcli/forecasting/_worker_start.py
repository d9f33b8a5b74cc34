"""What the forkserver of ``members`` imports before it forks workers: the engine, with its compiled
float32 loops already loaded (about 0.1-0.2 s that each worker would otherwise pay at its first pass).
Started early by a command (``early_workers``), it compiles its share of a cold cache's loops and waits
for the caller's share before loading the rest."""

import os
import signal

# Ctrl-C is for the command: the forkserver ignores it once it serves (multiprocessing sets that after
# this import), and a Ctrl-C while it still prepares must not print a traceback from here either.
signal.signal(signal.SIGINT, signal.SIG_IGN)

from lstmcli.engine import kernels  # noqa: E402
from lstmcli.forecasting import early_workers, members  # noqa: E402, F401  (the workers' module, once)

_handoff = os.environ.pop(early_workers.HANDOFF_ENV, None)
if _handoff:
    early_workers.warm_up(early_workers.SERVER_SHARE)
    early_workers.wait_for_caller(_handoff)
kernels.warm_up()
signal.signal(signal.SIGINT, signal.default_int_handler)  # the workers forked from here start as usual
