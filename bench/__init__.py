"""Local proof of concept, AWS benchmarks, cost model and report (``python -m bench``).

Layout: ``local/`` (the embedded emulator and ``bench local``), ``aws/`` (a
deployed stack: ``bench aws``, ``tune``), ``cost/`` (the pricing model and
``bench cost``), ``render/`` (every table and plot), ``results.py`` (the results
schema), ``schedule.py`` (pacing and forced cold starts), ``report.py``,
``preflight.py``, ``prune.py``, ``runtime_bench.py``.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
