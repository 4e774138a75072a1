"""The kit's user-facing errors and exit codes (one mapping, applied by ``kit.cli``).

Library code raises a ``KitError`` (or a subclass) whose message names the
input at fault and says what to do; the command line prints it as one line and
exits with its ``exit_code``. Anything else that escapes is a bug in the kit:
the CLI prints one line and keeps the traceback in a log file.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECKS = 1
"""The command ran and found a problem (lost items, preflight findings, a missed check)."""
EXIT_INPUT = 2
"""Bad input: an option, a file or a setting the kit cannot use."""
EXIT_DECLINED = 3
"""The user declined at a confirmation prompt (or there was no terminal to ask)."""
EXIT_INTERNAL = 70
"""A bug in the kit (EX_SOFTWARE); the traceback is in the log file the message names."""
EXIT_INTERRUPTED = 130


class KitError(Exception):
    """A failure the user can fix; the message names the input and says what to do."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
