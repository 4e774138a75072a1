"""The upload schedule both drivers follow: where cold starts are forced, and the pacing."""

from __future__ import annotations

import time


def cold_positions(requests: int, cold_starts: int) -> set[int]:
    """Positions (0-based) of ``cold_starts`` forced cold starts spread evenly over ``requests``.

    Position 0 is always among them: the first request of a fresh function is cold.
    """
    k = max(1, cold_starts)
    return {round(i * requests / k) for i in range(k)}


def wait_for_slot(started: float, index: int, rpm: float) -> None:
    """Sleep until request ``index`` is due at ``rpm`` (``started`` from time.monotonic()).

    ``rpm`` 0 means as fast as possible.
    """
    if rpm > 0:
        time.sleep(max(0.0, started + index * 60 / rpm - time.monotonic()))
