"""The serverless audio inference kit: ``python -m kit <command>`` (or the ``kit`` script).

The folders follow the data flow: ``measure/`` produces a results file (the
local emulator, a deployed stack, the memory sweep); ``results.py`` is that
file's contract; ``decide/`` consumes results files (cost, traffic simulation,
the report); ``render/`` draws every table and plot; ``stack/`` sees the Pulumi
program from outside (mocks, preflight, prune); ``cli/`` is one thin module per
command.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The project folder (Pulumi.yaml, build/, results/)."""
