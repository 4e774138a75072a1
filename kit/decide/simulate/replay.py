"""A replayed trace: request times from a file, read defensively.

The kind is recognised from the content:
- S3 server access log: uploads (PUT, POST multipart completion, COPY) are the requests; the
  log has one-second resolution, so requests within a second are spread evenly at random;
- CloudWatch Logs Insights export: CSV with an ``@timestamp`` column, or the JSON export (a
  list of objects with ``@timestamp``);
- CSV: a column named timestamp/time/date, or timestamps in the first column.

Files may be gzip-compressed and UTF-8, UTF-16 (with its BOM) or Latin-1. Anything else, a
line longer than ``MAX_LINE`` characters, a timestamp that is not a finite time between 1970
and 2100, or a trace busier than the simulator's range, is refused with the file and line.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .options import MAX_RPM
from .traffic import Traffic, TrafficError

_S3_LOG = re.compile(r"^\S+ \S+ \[([^\]]+)\] \S+ \S+ \S+ (\S+) ")
_UPLOADS = {"REST.PUT.OBJECT", "REST.POST.UPLOAD", "REST.COPY.OBJECT"}
_TIME_COLUMNS = ("@timestamp", "timestamp", "time", "datetime", "date", "eventtime")
MAX_LINE = 100_000
"""characters in one line (an S3 log line is under 2,000)"""
MAX_REQUESTS = 50_000_000
"""requests in one trace (400 MB of timestamps)"""
EPOCH_RANGE = (0.0, 4_102_444_800.0)  # 1970-01-01 to 2100-01-01


def _open_text(path: Path) -> io.TextIOBase:
    """The file as text: gunzipped if compressed; UTF-16 by its BOM, else UTF-8, else Latin-1."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise TrafficError(f"--replay {path}: cannot read it ({exc.strerror})") from None
    magic = raw.read(2)
    raw.seek(0)
    # closed with the TextIOWrapper the caller closes
    stream = gzip.open(raw) if magic == b"\x1f\x8b" else raw  # noqa: SIM115
    try:
        head = stream.read(4096)
    except (OSError, EOFError) as exc:
        raise TrafficError(f"--replay {path}: not a readable gzip file ({exc})") from None
    stream.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        try:
            head.decode("utf-8-sig")
            encoding = "utf-8-sig"
        except UnicodeDecodeError as exc:  # a character cut at the 4 KB edge is still UTF-8
            encoding = "utf-8-sig" if exc.start >= len(head) - 3 else "latin-1"
    return io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) with a bound on each line's length."""
    with _open_text(path) as f:
        n = 0
        while True:
            line = f.readline(MAX_LINE + 1)
            if not line:
                return
            n += 1
            if len(line) > MAX_LINE and not line.endswith("\n"):
                raise TrafficError(
                    f"{path} line {n}: longer than {MAX_LINE:,} characters; is this a trace?"
                )
            yield n, line


def parse_time(text: str, where: str) -> float:
    """Epoch seconds from ISO 8601, 'YYYY-MM-DD HH:MM:SS.fff', or epoch seconds / ms."""
    text = text.strip().strip('"')
    try:
        value = float(text)
        value = value / 1000.0 if value > 1e11 else value
    except ValueError:
        try:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise TrafficError(
                f"{where}: {text[:60]!r} is not a timestamp (use ISO 8601, "
                "'YYYY-MM-DD HH:MM:SS' or epoch seconds)"
            ) from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        value = stamp.timestamp()
    if not (math.isfinite(value) and EPOCH_RANGE[0] <= value <= EPOCH_RANGE[1]):
        raise TrafficError(f"{where}: {text[:60]!r} is not a time between 1970 and 2100")
    return value


def _s3_log(path: Path) -> tuple[list[float], int]:
    cache: dict[str, float] = {}
    out: list[float] = []
    skipped = 0
    for n, line in _lines(path):
        m = _S3_LOG.match(line)
        if not m:
            skipped += 1
            continue
        if m.group(2) not in _UPLOADS:
            continue
        stamp = m.group(1)
        if stamp not in cache:
            try:
                cache[stamp] = datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").timestamp()
            except ValueError:
                raise TrafficError(
                    f"{path} line {n}: [{stamp[:40]}] is not an S3 access log time "
                    "(DD/Mon/YYYY:HH:MM:SS +0000)"
                ) from None
        out.append(cache[stamp])
        _bounded(path, out)
    return out, skipped


def _csv(path: Path) -> list[float]:
    out: list[float] = []
    lines = (line for _, line in _lines(path))
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            return out
        names = [h.strip().lower() for h in header]
        column = next((names.index(c) for c in _TIME_COLUMNS if c in names), None)
        if column is None:  # no header: the first column holds the times
            column = 0
            out.append(parse_time(header[0] if header else "", f"{path} line 1"))
        for row in reader:
            if not row:
                continue
            where = f"{path} line {reader.line_num}"
            if column >= len(row):
                raise TrafficError(
                    f"{where}: has {len(row)} fields, the time is field {column + 1}"
                )
            out.append(parse_time(row[column], where))
            _bounded(path, out)
    except csv.Error as exc:
        raise TrafficError(f"{path} line {reader.line_num}: not CSV ({exc})") from None
    return out


def _json(path: Path) -> list[float]:
    text = "".join(line for _, line in _lines(path))
    try:
        rows = json.loads(text)
    except RecursionError:
        raise TrafficError(f"{path}: JSON nested too deeply to be a Logs Insights export") from None
    except ValueError as exc:
        raise TrafficError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(rows, list):
        raise TrafficError(f"{path}: a Logs Insights JSON export is a list of objects")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "@timestamp" not in row:
            raise TrafficError(f"{path} item {i}: not an object with an @timestamp field")
        out.append(parse_time(str(row["@timestamp"]), f"{path} item {i}"))
        _bounded(path, out)
    return out


def _bounded(path: Path, times: list[float]) -> None:
    if len(times) > MAX_REQUESTS:
        raise TrafficError(f"{path}: more than {MAX_REQUESTS:,} requests; replay a shorter span")


def load_trace(path: Path, rng: np.random.Generator) -> Traffic:
    """A replayable trace from a file (see the module docstring)."""
    path = Path(path)
    with _open_text(path) as f:
        head = f.read(4096)
    if head.lstrip().startswith("["):
        times, kind = _json(path), "CloudWatch Logs Insights JSON"
    elif _S3_LOG.match(head):
        times, skipped = _s3_log(path)
        kind = "S3 access log" + (f", {skipped} unparsed lines skipped" if skipped else "")
        stamps = np.asarray(times)
        times = list(stamps + rng.random(stamps.size))
    else:
        times, kind = _csv(path), "CSV"
    if len(times) < 2:
        raise TrafficError(
            f"--replay {path}: found {len(times)} request timestamps ({kind}); a trace needs at "
            "least two (an S3 access log counts REST.PUT.OBJECT lines)"
        )
    stamps = np.sort(np.asarray(times, dtype=np.float64))
    stamps -= stamps[0]
    span = max(float(stamps[-1]), 1.0)
    rpm = stamps.size / span * 60
    if rpm > MAX_RPM:
        raise TrafficError(
            f"--replay {path}: {stamps.size:,} requests in {span:,.0f} s is {rpm:,.0f} requests "
            f"per minute, over the {MAX_RPM:,.0f} the simulator takes (as for --rpm)"
        )
    return Traffic(
        "replay",
        rpm,
        span,
        np.array([0.0, span]),
        np.array([stamps.size / span]),
        timestamps=stamps,
        source=f"{path.name} ({kind}, {stamps.size:,} requests over {span / 86400:,.2f} days)",
    )
