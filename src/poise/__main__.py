"""``python -m poise``: the same as the ``poise`` command."""

from poise.cli import run

run()
