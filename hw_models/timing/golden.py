"""The GOLDEN schedulers: literal cycle-by-cycle models of every resource.

Slow and simple on purpose: :class:`GoldenStepper` is the reference that the
in-order FAST scheduler (:func:`hw_models.timing.scheduler.schedule`) is tested
equal to, :class:`GoldenArbiter` the reference of the arbitrated one
(:func:`hw_models.timing.arbiter.schedule_arbitrated`).
"""

from __future__ import annotations

from collections.abc import Sequence

from hw_models.timing.arbiter import Policies, check_holds, check_policy, policy_function
from hw_models.timing.model import Op, TimingError, check_int, check_ops


class GoldenStepper:
    """GOLDEN scheduler: every resource stepped one cycle at a time.

    Per-resource state: its queue of ops in list order (an op is in the queue
    of each of its :attr:`~hw_models.timing.model.Op.resources`), the position
    of its next op, and whether a running op holds it; per running op, the
    cycles it still needs.
    Per-op state: the number of its dependencies not finished yet, lowered by
    the completion signal of each dependency. Each cycle ``c``:

    1. *retire*: a running op with no cycles left finishes at ``c``; it signals
       its dependents and its resources become idle;
    2. *issue*: an op that is the next op of every one of its resources, all
       of them idle, and has no unfinished dependency starts at ``c``; an op
       of duration 0 finishes at once (signalling its dependents, which may
       then issue in the same cycle), so issue repeats until nothing more can
       start. An op can only become startable through a completion signal or
       by becoming the next op of a resource, so only those resources are
       examined;
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
            for r in op.resources:
                self._queue.setdefault(r, []).append(i)
        self._next = dict.fromkeys(self._queue, 0)  # position of the next op in the queue
        self._busy: set[str] = set()  # resources a running op holds
        self._running: dict[int, int] = {}  # running op -> cycles left
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
        for r in op.resources:
            self._next[r] += 1
            self._busy.discard(r)
            self._wake.append(r)
        for j in self._dependents[i]:
            self._unfinished_deps[j] -= 1
            if self._unfinished_deps[j] == 0:
                self._wake.append(self.ops[j].resource)

    def _can_issue(self, i: int) -> bool:
        """Op ``i`` is next on every one of its resources, they are idle, its
        dependencies have finished."""
        return self._unfinished_deps[i] == 0 and all(
            r not in self._busy and self._head(r) == i for r in self.ops[i].resources
        )

    def step(self) -> None:
        """Simulate the current cycle (retire, issue, tick) and advance to the next.

        Raises :class:`TimingError` if ops remain at cycle ``max_cycles``; does
        nothing once :attr:`done`.
        """
        c = self.cycle
        # 1. retire
        for i in [i for i, left in self._running.items() if left == 0]:
            del self._running[i]
            self._complete(i)
        # 2. issue, until no idle resource can start its next op
        while self._wake:
            res = self._wake.pop()
            if res in self._busy:
                continue
            i = self._head(res)
            if i is None or not self._can_issue(i):
                continue
            self.start[i] = c
            if self.ops[i].duration == 0:
                self._complete(i)
            else:
                self._running[i] = self.ops[i].duration
                self._busy.update(self.ops[i].resources)
        if self.done:
            return
        if c >= self.max_cycles:
            raise TimingError(
                f"{len(self.ops) - self.n_done} of {len(self.ops)} ops unfinished "
                f"at cycle {c} = max_cycles"
            )
        # 3. tick
        for i in self._running:
            self._running[i] -= 1
        self.cycle = c + 1

    def run(self) -> list[tuple[int, int]]:
        """Step until every op has finished; ``(start, finish)`` of every op."""
        while not self.done:
            self.step()
        return [(s, f) for s, f in zip(self.start, self.finish, strict=True)]  # type: ignore[misc]


class GoldenArbiter:
    """GOLDEN arbitrated scheduler: every resource and its arbiter stepped per cycle.

    The semantics are those of :mod:`hw_models.timing.arbiter`. Each cycle ``c``:

    1. *retire*: every running op with no cycles left finishes at ``c`` and
       frees all its resources;
    2. *zero-duration ops*: every unstarted op of duration 0 whose
       dependencies have all finished finishes at ``c``; repeated until none;
    3. *arbitrate*: a candidate is an unstarted op of duration > 0 whose
       dependencies have all finished and whose resources are all free now.
       Every free link (``round_robin``, ``fixed_priority``) scans every op
       for its candidates and its arbiter grants one (a linear scan:
       ``fixed_priority`` the smallest ``(sender, index)``, ``round_robin``
       the smallest ``((rank(sender) - pointer - 1) mod n, index)``, then the
       pointer moves to the granted sender's rank); then every op, in list
       order, whose resources are all ``oldest`` starts if it is a candidate
       at that moment, taking all its resources;
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
        self.policy = {r: check_policy(r, pol(r)) for op in ops for r in op.resources}
        check_holds(ops, pol)
        self.senders = {
            r: sorted({op.sender for op in ops if r in op.resources}) for r in self.policy
        }
        self.pointer = {r: len(s) - 1 for r, s in self.senders.items()}
        self.start: list[int | None] = [None] * len(ops)
        self.finish: list[int | None] = [None] * len(ops)
        self.holder: dict[str, int] = {}  # busy resource -> the op holding it
        self.left: dict[int, int] = {}  # running op -> cycles left
        self.cycle = 0

    @property
    def done(self) -> bool:
        """True when every op has finished."""
        return all(f is not None for f in self.finish)

    def _ready(self, i: int) -> bool:
        return self.start[i] is None and all(self.finish[d] is not None for d in self.ops[i].deps)

    def _candidate(self, i: int) -> bool:
        op = self.ops[i]
        return op.duration > 0 and self._ready(i) and not any(
            r in self.holder for r in op.resources)

    def _start(self, i: int) -> None:
        self.start[i] = self.cycle
        self.left[i] = self.ops[i].duration
        for r in self.ops[i].resources:
            self.holder[r] = i

    def _grant(self, res: str, cands: list[int]) -> int:
        if self.policy[res] == "fixed_priority":
            return min(cands, key=lambda i: (self.ops[i].sender, i))
        senders = self.senders[res]
        n, ptr = len(senders), self.pointer[res]
        i = min(cands, key=lambda i: ((senders.index(self.ops[i].sender) - ptr - 1) % n, i))
        self.pointer[res] = senders.index(self.ops[i].sender)
        return i

    def step(self) -> None:
        """Simulate the current cycle and advance to the next (see the class)."""
        c = self.cycle
        for i in [i for i, left in self.left.items() if left == 0]:
            del self.left[i]
            self.finish[i] = c
            for r in self.ops[i].resources:
                del self.holder[r]
        changed = True
        while changed:
            changed = False
            for i, op in enumerate(self.ops):
                if op.duration == 0 and self._ready(i):
                    self.start[i] = self.finish[i] = c
                    changed = True
        for res, pol in self.policy.items():
            if pol != "oldest" and res not in self.holder:
                cands = [i for i, op in enumerate(self.ops)
                         if op.resource == res and self._candidate(i)]  # fmt: skip
                if cands:
                    self._start(self._grant(res, cands))
        for i, op in enumerate(self.ops):  # by age across the oldest resources
            if self.policy[op.resource] == "oldest" and self._candidate(i):
                self._start(i)
        if self.done:
            return
        if c >= self.max_cycles:
            raise TimingError(f"ops unfinished at cycle {c} = max_cycles")
        for i in self.left:
            self.left[i] -= 1
        self.cycle = c + 1

    def run(self) -> list[tuple[int, int]]:
        """Step until every op has finished; ``(start, finish)`` of every op."""
        while not self.done:
            self.step()
        return [(s, f) for s, f in zip(self.start, self.finish, strict=True)]  # type: ignore[misc]
