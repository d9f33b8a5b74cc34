"""What the forkserver of ``members`` imports before it forks workers: the engine, with its compiled
float32 loops already loaded (about 0.1-0.2 s that each worker would otherwise pay at its first pass)."""

from lstmcli.engine import kernels
from lstmcli.forecasting import members  # noqa: F401  (the workers' own module, imported once here)

kernels.warm_up()
