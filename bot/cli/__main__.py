"""`python -m bot.cli`: the `psv` command (how `psv serve` starts its turn processes)."""

from bot.cli import main

main()
