"""Spread per-file parse work over worker processes.

Parsing is pure CPU work in Python, so threads would not help; processes do. Workers are
forked where that is safe (Linux), so they inherit the imported parser and cost a few
milliseconds each; elsewhere they are spawned. Small runs (a pre-commit hook's handful of
files) stay in-process: starting workers would cost more than it saves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Below this many modules or templates, worker start-up costs more than the parsing it would share.
MIN_PARALLEL_ITEMS = 16
# More batches than workers, so a worker that drew small files takes another batch.
BATCHES_PER_WORKER = 4


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _context() -> Any:
    import multiprocessing  # about 5 ms, paid only by runs big enough to use workers

    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    else:  # not a fall-through: mypy decides the platform check and would call one unreachable
        return multiprocessing.get_context("spawn")


def _batches(sizes: Sequence[int], count: int) -> list[list[int]]:
    """Indices split into ``count`` batches of about equal total size (largest first, each to the
    lightest batch so far)."""
    batches: list[list[int]] = [[] for _ in range(count)]
    loads = [0] * count
    for index in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        lightest = loads.index(min(loads))
        batches[lightest].append(index)
        loads[lightest] += sizes[index] + 1
    return [b for b in batches if b]


# In-process work reports progress this often (per twentieth of its items), when asked to.
PROGRESS_STEPS = 20


def _numbered(
    function: Callable[[list[Any]], list[Any]], batch: tuple[int, list[Any]]
) -> tuple[int, list[Any], dict[str, str]]:
    """Run one batch in a worker and say which it was (batches finish in any order), with the
    files it read when the run is being recorded (replay.py: a forked worker inherits the hook)."""
    from orgtrust_lint import replay

    number, items = batch
    output = function(items)
    recording = replay.active()
    return number, output, recording.taken() if recording is not None else {}


class Workers:
    """A pool of worker processes; ``close`` ends them."""

    def __init__(self, processes: int) -> None:
        from orgtrust_lint import replay

        context = _context()
        recording = replay.active()
        if recording is not None and context.get_start_method() != "fork":
            recording.complete = False  # only a forked worker inherits the hook: reads unseen
        if context.get_start_method() == "fork":
            import gc

            # What workers inherit is never garbage of theirs: kept out of their collections, and
            # its memory pages stay shared (a collection would write to every object it scans).
            gc.freeze()
        self.pool: Any = context.Pool(processes=processes)
        if context.get_start_method() == "fork":
            import gc

            gc.unfreeze()  # forked already: here, what dies later is collected again
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.pool.terminate()
            self.pool.join()


class Pending(Generic[Result]):
    """Work started by ``start``; ``result()`` waits for it and returns results in item order."""

    def __init__(
        self,
        function: Callable[[list[Any]], list[Result]],
        items: list[Any],
        jobs: int,
        size: Callable[[Any], int],
        processes: int,
    ) -> None:
        self._function = function
        self._items = items
        self._workers: Workers | None = None
        self._batches: list[list[int]] = []
        self._finished: Any = None
        self.parallel = uses_workers(len(items), jobs)
        if not self.parallel:
            return
        self._batches = _batches([size(i) for i in items], jobs * BATCHES_PER_WORKER)
        self._workers = Workers(min(processes, len(self._batches)))
        work = [[items[i] for i in batch] for batch in self._batches]
        self._finished = self._workers.pool.imap_unordered(partial(_numbered, function), enumerate(work), chunksize=1)

    def close(self) -> None:
        """End the work unfinished (its result is not wanted: the run failed meanwhile)."""
        if self._workers is not None:
            self._workers.close()

    def result(self, done: Callable[[list[Any], list[Result]], None] | None = None) -> list[Result]:
        """The results in item order. ``done`` is called with the items of each part of the work and
        their results as that part finishes (a progress line; what can be done with a part's results
        while the workers go on)."""
        if not self.parallel:
            if done is None:
                return self._function(self._items)
            outputs: list[Result] = []
            step = max(1, len(self._items) // PROGRESS_STEPS)
            for start in range(0, len(self._items), step):
                part = self._items[start : start + step]
                part_outputs = self._function(part)
                outputs.extend(part_outputs)
                done(part, part_outputs)
            return outputs
        results: list[Any] = [None] * len(self._items)
        try:
            from orgtrust_lint import replay

            recording = replay.active()
            for number, output, reads in self._finished:
                if recording is not None:
                    recording.merge(reads)
                batch = self._batches[number]
                for index, value in zip(batch, output, strict=True):
                    results[index] = value
                if done is not None:
                    done([self._items[index] for index in batch], output)
        finally:
            assert self._workers is not None
            self._workers.close()
        return results


def uses_workers(count: int, jobs: int) -> bool:
    """Whether ``count`` items with up to ``jobs`` processes go to workers (see ``start``)."""
    return min(jobs, default_jobs()) > 1 and count >= MIN_PARALLEL_ITEMS


def start(
    function: Callable[[list[Item]], list[Result]],
    items: list[Item],
    jobs: int,
    size: Callable[[Item], int] = lambda _: 1,
    processes: int | None = None,
) -> Pending[Result]:
    """Start ``function`` on batches of ``items`` in up to ``jobs`` worker processes (or, for
    small work, later in this process). ``function`` must be a module-level function. More
    workers than CPUs would only add memory and contention, so ``jobs`` is capped there.
    ``processes`` caps the workers further (work started beside other work: the processes of both
    then share the CPUs); whether workers are used at all still follows ``jobs``."""
    jobs = min(jobs, default_jobs())
    return Pending(function, items, jobs, size, min(jobs, processes or jobs))
