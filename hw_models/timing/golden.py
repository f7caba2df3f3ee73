"""The GOLDEN scheduler: a literal cycle-by-cycle model of every resource.

Slow and simple on purpose: it is the reference that the FAST scheduler
(:func:`hw_models.timing.scheduler.schedule`) is tested equal to.
"""

from __future__ import annotations

from collections.abc import Sequence

from hw_models.timing.model import Op, TimingError, check_int, check_ops


class GoldenStepper:
    """GOLDEN scheduler: every resource stepped one cycle at a time.

    Per-resource state: its queue of ops in list order, the position of its
    next op, and the op it is running with the cycles that op still needs.
    Per-op state: the number of its dependencies not finished yet, lowered by
    the completion signal of each dependency. Each cycle ``c``:

    1. *retire*: a running op with no cycles left finishes at ``c``; it signals
       its dependents and its resource becomes idle;
    2. *issue*: every idle resource whose next op has no unfinished dependency
       starts it at ``c``; an op of duration 0 finishes at once (signalling its
       dependents, which may then issue in the same cycle), so issue repeats
       until nothing more can start. An idle resource's next op can only
       become ready through a completion signal or by becoming the next op,
       so only those resources are examined;
    3. *tick*: every running op consumes cycle ``c``; then ``c`` advances.

    Parameters
    ----------
    ops : sequence of Op
        A graph in topological (= issue) order.
    max_cycles : int
        :class:`TimingError` is raised if the ops are not all finished by cycle
        ``max_cycles``.
    """

    def __init__(self, ops: Sequence[Op], max_cycles: int) -> None:
        check_ops(ops)
        self.ops = list(ops)
        self.max_cycles = check_int("max_cycles", max_cycles, 0)
        self.cycle = 0
        n = len(self.ops)
        self.start: list[int | None] = [None] * n
        self.finish: list[int | None] = [None] * n
        self.n_done = 0
        self._unfinished_deps = [len(set(op.deps)) for op in self.ops]
        self._dependents: list[list[int]] = [[] for _ in range(n)]
        for i, op in enumerate(self.ops):
            for d in set(op.deps):
                self._dependents[d].append(i)
        self._queue: dict[str, list[int]] = {}
        for i, op in enumerate(self.ops):
            self._queue.setdefault(op.resource, []).append(i)
        self._next = dict.fromkeys(self._queue, 0)  # position of the next op in the queue
        self._running: dict[str, list[int]] = {}  # resource -> [op, cycles left]
        self._wake: list[str] = list(self._queue)  # resources to examine at issue

    @property
    def done(self) -> bool:
        """True when every op has finished."""
        return self.n_done == len(self.ops)

    def _head(self, res: str) -> int | None:
        q, k = self._queue[res], self._next[res]
        return q[k] if k < len(q) else None

    def _complete(self, i: int) -> None:
        """Op ``i`` finishes now: record it, free its resource, signal dependents."""
        op = self.ops[i]
        self.finish[i] = self.cycle
        self.n_done += 1
        self._next[op.resource] += 1
        self._wake.append(op.resource)
        for j in self._dependents[i]:
            self._unfinished_deps[j] -= 1
            if self._unfinished_deps[j] == 0:
                self._wake.append(self.ops[j].resource)

    def step(self) -> None:
        """Simulate the current cycle (retire, issue, tick) and advance to the next.

        Raises :class:`TimingError` if ops remain at cycle ``max_cycles``; does
        nothing once :attr:`done`.
        """
        c = self.cycle
        # 1. retire
        for res in [r for r, (_, left) in self._running.items() if left == 0]:
            i, _ = self._running.pop(res)
            self._complete(i)
        # 2. issue, until no idle resource can start its next op
        while self._wake:
            res = self._wake.pop()
            if res in self._running:
                continue
            i = self._head(res)
            if i is None or self._unfinished_deps[i] > 0:
                continue
            self.start[i] = c
            if self.ops[i].duration == 0:
                self._complete(i)
            else:
                self._running[res] = [i, self.ops[i].duration]
        if self.done:
            return
        if c >= self.max_cycles:
            raise TimingError(
                f"{len(self.ops) - self.n_done} of {len(self.ops)} ops unfinished "
                f"at cycle {c} = max_cycles"
            )
        # 3. tick
        for state in self._running.values():
            state[1] -= 1
        self.cycle = c + 1

    def run(self) -> list[tuple[int, int]]:
        """Step until every op has finished; ``(start, finish)`` of every op."""
        while not self.done:
            self.step()
        return [(s, f) for s, f in zip(self.start, self.finish, strict=True)]  # type: ignore[misc]
