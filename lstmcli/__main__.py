"""`python -m lstmcli` runs the command line."""

from lstmcli.cli import main

main()
