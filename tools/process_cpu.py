"""CPU time of a process tree, for the benchmarks (psutil reads ``/proc``).

A tree, not a process: Elasticsearch's launcher runs the server JVM as its child, and uvicorn
with several workers runs them as children, so a single pid would miss where the time went.
"""

from __future__ import annotations

import psutil


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process and all its descendants; None when it is gone."""
    if pid is None:
        return None
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:  # ended between the listing and the reading
            continue
        total += times.user + times.system
    return total
