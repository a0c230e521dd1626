"""Allow `python -m exchange`."""

from exchange.cli import main

main()
