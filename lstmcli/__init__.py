"""lstmcli: forecast a time series from a CSV with an LSTM written in NumPy.

Kept import-light on purpose: `lstmcli --help` must not pay for pandas.
"""

__version__ = "0.1.0"
