"""The one timing loop the benchmarks share."""

from __future__ import annotations

import time


def rate(fn, samples_per_call: int, seconds: float) -> float:
    """Samples per second of ``fn``, after one warm-up call, over at least ``seconds``."""
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * samples_per_call / elapsed
