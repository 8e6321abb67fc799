"""Progress of a run on stderr: a tqdm bar on a terminal (stage = backend, counts, ETA), and without one a
periodic line, so a CI log is never silent for long:

    progress: 120/444 (27%) backend onnxruntime, passed 118 failed 0 skipped 2, eta 40 s
"""

from __future__ import annotations

import sys
import threading
import time

# Record status -> the count it adds to.
COUNT_OF = {"passed": "passed", "built": "passed", "xfail": "passed", "skipped": "skipped"}


class Progress:
    """`stage(name)` when a backend starts, `update(status)` per record, `close()` at the end.

    `bar=None` chooses: a bar when `stream` is a terminal, lines otherwise. Lines come every `every_s`
    seconds or every `every_fraction` of the work, whichever is first, and once at the end; a heartbeat
    thread writes the line every `every_s` seconds even while one case runs long (a slow build).
    """

    def __init__(self, total: int, *, stream=None, bar: bool | None = None, every_s: float = 10.0,
                 every_fraction: float = 0.1, clock=time.monotonic):
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.stage_name = ""
        self.every_s, self.every_fraction, self.clock = every_s, every_fraction, clock
        self.start = self.last_time = clock()
        self.last_done = 0
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.bar, self.lock, self.stopped = None, threading.Lock(), threading.Event()
        if isatty() if bar is None else bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self.stream, unit="case", dynamic_ncols=True, leave=True)
        elif every_s > 0:
            threading.Thread(target=self._heartbeat, name="progress", daemon=True).start()

    def stage(self, name: str) -> None:
        self.stage_name = name
        if self.bar is not None:
            self.bar.set_description(f"backend {name}")

    def grow(self, count: int) -> None:
        """`count` more records than first counted (a backend running each case at several precisions)."""
        self.total += count
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.refresh()

    def update(self, status: str) -> None:
        self.done += 1
        self.counts[COUNT_OF.get(status, "failed")] += 1
        if self.bar is not None:
            self.bar.set_postfix(self.counts, refresh=False)
            self.bar.update(1)
            return
        step = max(1, int(self.total * self.every_fraction))
        if self.clock() - self.last_time >= self.every_s or self.done - self.last_done >= step or self.done == self.total:
            self._write()

    def _write(self):
        with self.lock:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self.last_time, self.last_done = self.clock(), self.done

    def _heartbeat(self):
        while not self.stopped.wait(min(self.every_s, 1.0)):
            if self.clock() - self.last_time >= self.every_s:
                self._write()

    def line(self) -> str:
        """One line: done/total, percent, stage, counts and the estimated time left."""
        elapsed = self.clock() - self.start
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        c = self.counts
        return (f"progress: {self.done}/{self.total} ({100 * self.done // max(self.total, 1)}%) backend "
                f"{self.stage_name}, passed {c['passed']} failed {c['failed']} skipped {c['skipped']}, "
                f"eta {'?' if left is None else f'{left:.0f} s'}")

    def close(self) -> None:
        self.stopped.set()
        if self.bar is not None:
            self.bar.close()
