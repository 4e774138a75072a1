"""The two event loops of the simulator, compiled with numba (one request per iteration).

``lambda_pool``: Lambda-style execution environments, one request at a time each.
  - A request takes an idle provisioned environment first, else the most recently
    used idle on-demand one (warm), else a new one (cold: its init or restore time
    is added before the handler runs).
  - An idle on-demand environment retires after ``idle_lifetime_s``.
  - New environments are limited to ``scale_per_10s`` per 10 s and the busy total to
    ``concurrency_limit``; over a limit a synchronous request is throttled (answered
    429, not run) and an asynchronous one waits for the next environment to free up.
``fifo_servers``: ``c`` identical workers behind one first-come-first-served queue
  (a SageMaker endpoint: instances x workers), with an optional t2 CPU-credit
  balance and optional target-tracking autoscaling with a scale-out delay.

Both loops carry their state in small arrays so a month can be fed in chunks.
Times are in seconds, service times in milliseconds.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# lambda_pool state slots (float64 array ``st``)
ST_BUSY, ST_IDLE_LO, ST_IDLE_HI, ST_PC_IDLE, ST_RING_POS = 0, 1, 2, 3, 4
# lambda_pool outputs per request (int8 ``kind``)
WARM, COLD, PROVISIONED, THROTTLED, QUEUED, QUEUED_PROVISIONED = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _heap_push(heap: np.ndarray, tag: np.ndarray, n: int, value: float, t: int) -> None:
    i = n
    heap[i] = value
    tag[i] = t
    while i > 0:
        parent = (i - 1) // 2
        if heap[parent] <= heap[i]:
            break
        heap[i], heap[parent] = heap[parent], heap[i]
        tag[i], tag[parent] = tag[parent], tag[i]
        i = parent


@njit(cache=True)
def _heap_pop(heap: np.ndarray, tag: np.ndarray, n: int) -> None:
    """Remove the minimum of a heap of ``n`` items (the caller reads heap[0] first)."""
    n -= 1
    heap[0] = heap[n]
    tag[0] = tag[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        child = left
        if left + 1 < n and heap[left + 1] < heap[left]:
            child = left + 1
        if heap[i] <= heap[child]:
            break
        heap[i], heap[child] = heap[child], heap[i]
        tag[i], tag[child] = tag[child], tag[i]
        i = child


@njit(cache=True)
def lambda_pool(
    arrivals: np.ndarray,
    warm_ms: np.ndarray,
    cold_ms: np.ndarray,
    idle_lifetime_s: float,
    concurrency_limit: int,
    scale_per_10s: int,
    synchronous: bool,
    st: np.ndarray,
    busy_end: np.ndarray,
    busy_tag: np.ndarray,
    idle: np.ndarray,
    ring: np.ndarray,
    latency_ms: np.ndarray,
    kind: np.ndarray,
) -> None:
    """Run one chunk of arrivals (sorted, seconds) through the pool; fills latency_ms and kind."""
    n_busy = int(st[ST_BUSY])
    lo = int(st[ST_IDLE_LO])
    hi = int(st[ST_IDLE_HI])
    pc_idle = int(st[ST_PC_IDLE])
    pos = int(st[ST_RING_POS])
    size = idle.shape[0]
    for i in range(arrivals.shape[0]):
        t = arrivals[i]
        # environments that finished before t become idle, most recent on top
        while n_busy > 0 and busy_end[0] <= t:
            end = busy_end[0]
            provisioned = busy_tag[0] == 1
            _heap_pop(busy_end, busy_tag, n_busy)
            n_busy -= 1
            if provisioned:
                pc_idle += 1
            else:
                if hi == size:  # compact the idle stack
                    idle[: hi - lo] = idle[lo:hi].copy()
                    hi -= lo
                    lo = 0
                idle[hi] = end
                hi += 1
        # idle on-demand environments past their lifetime retire (oldest at the bottom)
        while lo < hi and idle[lo] + idle_lifetime_s < t:
            lo += 1
        w = warm_ms[i]
        if pc_idle > 0:
            pc_idle -= 1
            latency_ms[i] = w
            kind[i] = PROVISIONED
            _heap_push(busy_end, busy_tag, n_busy, t + w / 1000.0, 1)
            n_busy += 1
        elif lo < hi:
            hi -= 1
            latency_ms[i] = w
            kind[i] = WARM
            _heap_push(busy_end, busy_tag, n_busy, t + w / 1000.0, 0)
            n_busy += 1
        elif n_busy < concurrency_limit and ring[pos] <= t - 10.0:
            ring[pos] = t
            pos = (pos + 1) % scale_per_10s
            latency_ms[i] = cold_ms[i] + w
            kind[i] = COLD
            _heap_push(busy_end, busy_tag, n_busy, t + (cold_ms[i] + w) / 1000.0, 0)
            n_busy += 1
        elif synchronous or n_busy == 0:
            latency_ms[i] = np.nan
            kind[i] = THROTTLED
        else:
            # an asynchronous event waits for the next environment that frees up
            end = busy_end[0]
            tag = busy_tag[0]
            _heap_pop(busy_end, busy_tag, n_busy)
            latency_ms[i] = (end - t) * 1000.0 + w
            kind[i] = QUEUED_PROVISIONED if tag == 1 else QUEUED
            _heap_push(busy_end, busy_tag, n_busy - 1, end + w / 1000.0, tag)
    st[ST_BUSY] = n_busy
    st[ST_IDLE_LO] = lo
    st[ST_IDLE_HI] = hi
    st[ST_PC_IDLE] = pc_idle
    st[ST_RING_POS] = pos


# fifo_servers state slots (float64 array ``st``)
F_ACTIVE, F_CREDITS, F_LAST_T, F_MINUTE, F_BUSY_ACC, F_PENDING_T, F_LOW_SINCE, F_SERVER_S = range(8)


@njit(cache=True)
def fifo_servers(
    arrivals: np.ndarray,
    service_ms: np.ndarray,
    workers: int,
    max_servers: int,
    credits_per_min: float,
    max_credits: float,
    baseline: float,
    autoscale: bool,
    target: float,
    scale_out_delay_s: float,
    scale_in_cooldown_s: float,
    max_wait_s: float,
    st: np.ndarray,
    free_at: np.ndarray,
    wait_ms: np.ndarray,
    served_ms: np.ndarray,
) -> None:
    """Queue one chunk of arrivals on the earliest free worker; fills wait_ms and served_ms.

    ``credits_per_min`` > 0 turns on the t2 credit balance: a request started with
    no credits runs at ``baseline`` of a vCPU (its service time / baseline).
    Autoscaling adds or removes whole instances (``workers`` each). A request that
    would wait longer than ``max_wait_s`` is refused (wait NaN) and takes no worker.
    """
    active = int(st[F_ACTIVE])
    credits = st[F_CREDITS]
    last_t = st[F_LAST_T]
    minute = st[F_MINUTE]
    busy_acc = st[F_BUSY_ACC]
    pending_t = st[F_PENDING_T]
    low_since = st[F_LOW_SINCE]
    server_s = st[F_SERVER_S]
    for i in range(arrivals.shape[0]):
        t = arrivals[i]
        server_s += active * (t - last_t)
        if credits_per_min > 0.0:
            credits = min(max_credits, credits + (t - last_t) / 60.0 * credits_per_min)
        last_t = t
        if autoscale:
            if pending_t > 0.0 and t >= pending_t:
                for k in range(active, min(active + workers, max_servers)):
                    free_at[k] = pending_t
                active = min(active + workers, max_servers)
                pending_t = 0.0
                low_since = t
            while t >= minute + 60.0:
                utilization = busy_acc / (60.0 * active)
                busy_acc = 0.0
                minute += 60.0
                if utilization > target:
                    low_since = -1.0
                    if pending_t == 0.0 and active < max_servers:
                        pending_t = minute + scale_out_delay_s
                elif utilization < target / 2.0 and active > workers and pending_t == 0.0:
                    if low_since < 0.0:
                        low_since = minute
                    elif minute - low_since >= scale_in_cooldown_s:
                        active -= workers
                        low_since = minute
                else:
                    low_since = -1.0
        best = 0
        for k in range(1, active):
            if free_at[k] < free_at[best]:
                best = k
        start = max(t, free_at[best])
        if start - t > max_wait_s:
            wait_ms[i] = np.nan
            served_ms[i] = 0.0
            continue
        s = service_ms[i]
        if credits_per_min > 0.0:
            if credits <= 0.0:
                s = s / baseline
                credits -= s / 60000.0 * baseline
            else:
                credits -= s / 60000.0
        free_at[best] = start + s / 1000.0
        busy_acc += s / 1000.0
        wait_ms[i] = (start - t) * 1000.0
        served_ms[i] = s
    st[F_ACTIVE] = active
    st[F_CREDITS] = credits
    st[F_LAST_T] = last_t
    st[F_MINUTE] = minute
    st[F_BUSY_ACC] = busy_acc
    st[F_PENDING_T] = pending_t
    st[F_LOW_SINCE] = low_since
    st[F_SERVER_S] = server_s


# Latency histogram: a float32's bits without the low 15 mantissa bits are a log-spaced
# bin (256 per doubling, 0.27 % wide). Bin MISS collects requests that got no answer
# (throttled), so percentiles count them as misses.
_SHIFT = 15
HIST_LO = 1e-2
_BASE = int(np.array([HIST_LO], dtype=np.float32).view(np.int32)[0]) >> _SHIFT
HIST_BINS = (int(np.array([1e9], dtype=np.float32).view(np.int32)[0]) >> _SHIFT) - _BASE
MISS = HIST_BINS + 1


def histogram_add(hist: np.ndarray, latency_ms: np.ndarray) -> None:
    """Add each latency (ms; NaN = no answer) to its bin."""
    missing = np.isnan(latency_ms)
    clipped = np.clip(latency_ms[~missing], HIST_LO, 1e9).astype(np.float32)
    index = (clipped.view(np.int32) >> _SHIFT) - _BASE
    hist[: HIST_BINS + 1] += np.bincount(index, minlength=HIST_BINS + 1)[: HIST_BINS + 1]
    hist[MISS] += np.count_nonzero(missing)


def bin_upper_ms(index: int) -> float:
    """Upper edge of a histogram bin (inf for the miss bin)."""
    if index >= MISS:
        return float("inf")
    bits = np.array([(index + _BASE + 1) << _SHIFT], dtype=np.int32)
    return float(bits.view(np.float32)[0])


@njit(cache=True)
def pool_tally(kind: np.ndarray, busy_ms: np.ndarray, cold_ms: np.ndarray) -> np.ndarray:
    """Counts and billed sums of a lambda_pool chunk.

    Returns [cold, throttled, queued, provisioned, billed ms (ceil per request), billed cold ms].
    """
    out = np.zeros(6)
    for i in range(kind.shape[0]):
        c = kind[i]
        if c == THROTTLED:
            out[1] += 1
            continue
        out[4] += np.ceil(busy_ms[i])
        if c == COLD:
            out[0] += 1
            out[5] += np.ceil(cold_ms[i])
        elif c == QUEUED:
            out[2] += 1
        elif c == PROVISIONED:
            out[3] += 1
        elif c == QUEUED_PROVISIONED:
            out[2] += 1
            out[3] += 1
    return out
