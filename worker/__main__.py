"""`python -m worker` runs the territory CLI."""

from worker.cli import main

main()
