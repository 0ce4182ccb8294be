"""CPU time of this process, all threads (live or ended), exact to the nanosecond.

``time.process_time`` reads ``CLOCK_PROCESS_CPUTIME_ID``, which the kernel keeps from
the scheduler's runtime of every thread of the process; ``getrusage`` is charged by
timer ticks on many kernels, too coarse for a loop that costs a fraction of a percent.
"""

from __future__ import annotations

import time


def cpu_s() -> float:
    """CPU seconds of this process (every thread, including those that ended)."""
    return time.process_time()
