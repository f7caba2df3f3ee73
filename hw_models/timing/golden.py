"""The GOLDEN schedulers: literal cycle-by-cycle models of every resource.

Slow and simple on purpose: :class:`GoldenStepper` is the reference that the
in-order FAST scheduler (:func:`hw_models.timing.scheduler.schedule`) is tested
equal to, :class:`GoldenArbiter` the reference of the arbitrated one
(:func:`hw_models.timing.arbiter.schedule_arbitrated`).
"""

from __future__ import annotations

from collections.abc import Sequence

from hw_models.timing.arbiter import Policies, check_policy, policy_function
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


class GoldenArbiter:
    """GOLDEN arbitrated scheduler: every resource and its arbiter stepped per cycle.

    The semantics are those of :mod:`hw_models.timing.arbiter`. Each cycle ``c``:

    1. *retire*: every running op with no cycles left finishes at ``c``;
    2. *zero-duration ops*: every unstarted op of duration 0 whose
       dependencies have all finished finishes at ``c``; repeated until none;
    3. *arbitrate*: every idle resource scans its unstarted ops, keeps those
       whose dependencies have all finished, and its arbiter grants one (a
       linear scan: ``oldest`` the smallest index, ``fixed_priority`` the
       smallest ``(sender, index)``, ``round_robin`` the smallest
       ``((rank(sender) - pointer - 1) mod n, index)``, then the pointer moves
       to the granted sender's rank);
    4. *tick*: every running op consumes cycle ``c``; then ``c`` advances.

    Parameters
    ----------
    ops : sequence of Op
        A graph in topological order (list index = age).
    policies : mapping, function or None
        Resource -> policy, as for ``schedule_arbitrated``.
    max_cycles : int
        :class:`TimingError` is raised if ops remain at cycle ``max_cycles``.
    """

    def __init__(self, ops: Sequence[Op], policies: Policies, max_cycles: int) -> None:
        check_ops(ops)
        self.ops = list(ops)
        self.max_cycles = check_int("max_cycles", max_cycles, 0)
        pol = policy_function(policies)
        self.policy = {op.resource: check_policy(op.resource, pol(op.resource)) for op in ops}
        self.senders = {
            r: sorted({op.sender for op in ops if op.resource == r}) for r in self.policy
        }
        self.pointer = {r: len(s) - 1 for r, s in self.senders.items()}
        self.start: list[int | None] = [None] * len(ops)
        self.finish: list[int | None] = [None] * len(ops)
        self.running: dict[str, list[int]] = {}  # resource -> [op, cycles left]
        self.cycle = 0

    @property
    def done(self) -> bool:
        """True when every op has finished."""
        return all(f is not None for f in self.finish)

    def _ready(self, i: int) -> bool:
        return self.start[i] is None and all(self.finish[d] is not None for d in self.ops[i].deps)

    def _grant(self, res: str, cands: list[int]) -> int:
        pol = self.policy[res]
        if pol == "oldest":
            return min(cands)
        if pol == "fixed_priority":
            return min(cands, key=lambda i: (self.ops[i].sender, i))
        senders = self.senders[res]
        n, ptr = len(senders), self.pointer[res]
        i = min(cands, key=lambda i: ((senders.index(self.ops[i].sender) - ptr - 1) % n, i))
        self.pointer[res] = senders.index(self.ops[i].sender)
        return i

    def step(self) -> None:
        """Simulate the current cycle and advance to the next (see the class)."""
        c = self.cycle
        for res in [r for r, (_, left) in self.running.items() if left == 0]:
            i, _ = self.running.pop(res)
            self.finish[i] = c
        changed = True
        while changed:
            changed = False
            for i, op in enumerate(self.ops):
                if op.duration == 0 and self._ready(i):
                    self.start[i] = self.finish[i] = c
                    changed = True
        for res in self.policy:
            if res in self.running:
                continue
            cands = [i for i, op in enumerate(self.ops) if op.resource == res and op.duration > 0
                     and self._ready(i)]  # fmt: skip
            if cands:
                i = self._grant(res, cands)
                self.start[i] = c
                self.running[res] = [i, self.ops[i].duration]
        if self.done:
            return
        if c >= self.max_cycles:
            raise TimingError(f"ops unfinished at cycle {c} = max_cycles")
        for state in self.running.values():
            state[1] -= 1
        self.cycle = c + 1

    def run(self) -> list[tuple[int, int]]:
        """Step until every op has finished; ``(start, finish)`` of every op."""
        while not self.done:
            self.step()
        return [(s, f) for s, f in zip(self.start, self.finish, strict=True)]  # type: ignore[misc]
