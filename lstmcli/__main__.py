"""`python -m lstmcli` runs the command line."""

from lstmcli.cli import main

if __name__ == "__main__":  # not when a worker process imports the main module (forecasting.members)
    main()
