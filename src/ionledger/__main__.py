"""``python -m ionledger`` runs the CLI."""

from ionledger.cli import main

main()
