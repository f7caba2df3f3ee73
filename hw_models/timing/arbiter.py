"""The FAST arbitrated scheduler: a ready list per resource, driven by finish events.

Semantics (shared with :class:`hw_models.timing.golden.GoldenArbiter`)
--------------------------------------------------------------------
Unlike :func:`hw_models.timing.scheduler.schedule` (in-order issue, list order
per resource), a resource here serves whichever of its *ready* ops its policy
picks; the list still has to be topological, and an op's list index is its
*age* (smaller = older).

1. An op of duration 0 occupies nothing: it starts and finishes at the largest
   finish of its dependencies (0 without any). No arbitration.
2. An op of duration ``d > 0`` is *ready* at cycle ``c`` when every dependency
   has finished at a cycle ``<= c``. It needs its resource and every resource
   of its ``holds`` (:attr:`Op.resources`); at cycle ``c`` it is a
   *candidate* of each of them while it is ready, unstarted, and all of them
   are free (no op occupies them at ``c``).
3. *Grant.* A resource whose policy is ``round_robin`` or
   ``fixed_priority`` (a link) is only ever needed by ops that need nothing
   else (:class:`ConfigError` otherwise): at every cycle ``c`` at which it is
   free and has candidates it starts the one its policy picks. Every other
   resource is ``oldest`` and these are granted *by age across all
   resources*: at cycle ``c`` the candidates are taken in increasing list
   index, and each whose resources are all still free starts, taking all of
   them at once (the next ones see them busy). An op that needs a single
   resource thus starts the oldest candidate of that resource, as before
   ports; an op that holds a unit and a port waits until both are free and
   no older candidate takes either. The op occupies its resources during
   cycles ``c .. c+d-1`` and finishes at ``c + d`` (non-preemptive: they are
   free again at ``c + d``). No deadlock: an op never waits holding a
   resource (it takes all of them in one cycle or none), and after cycle
   ``c``'s grants every ready, unstarted op has a busy resource; so while ops
   remain, one runs or one starts, and the graph is acyclic.
4. Policies (among the candidates of one resource):

   ``oldest``
       the smallest list index. The compute resources (MAC arrays, update
       units, activation units) use it: in a batch graph the samples are listed
       oldest first and, within a sample, error transport before gradients, so
       a tile serves the oldest sample in flight first (its backward work before
       a newer sample's forward). That keeps the samples in flight, and the
       activations and errors buffered for them, few, and lets an older
       sample's error move on down the chain, which gates the updates.
   ``round_robin``
       over the link's senders: let ``s_0 < ... < s_{n-1}`` be the distinct
       ``Op.sender`` values of the resource's ops and ``r`` the rank of the last
       sender granted (initially ``n - 1``); the sender with a candidate and
       the smallest ``(rank - r - 1) mod n`` is granted, and its oldest
       candidate starts.
   ``fixed_priority``
       the candidate of the smallest sender; the oldest among that sender's.

5. The makespan is the largest finish (0 for an empty list).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from hw_models.timing.model import Op, check_ops
from hw_models.timing.options import POLICIES
from neurosim.errors import ConfigError
from neurosim.numerics.kernels._lazy import Fastest

Policies = Mapping[str, str] | Callable[[str], str] | None


def link_policies(arbitration: Mapping[str, str]) -> Callable[[str], str]:
    """Policy of a resource by its name: ``fwd*`` -> ``arbitration["forward"]``,
    ``skip`` -> ``["skip"]``, ``chain*`` -> ``["chain"]`` (default
    ``round_robin``); every other resource ``oldest``."""

    def policy(res: str) -> str:
        for prefix, kind in (("fwd", "forward"), ("skip", "skip"), ("chain", "chain")):
            if res.startswith(prefix):
                return arbitration.get(kind, "round_robin")
        return "oldest"

    return policy


def check_holds(ops: Sequence[Op], pol: Callable[[str], str]) -> None:
    """Raise :class:`ConfigError` unless every op that needs more than one
    resource needs only ``oldest`` ones (the grant by age across resources)."""
    seen: dict[str, str] = {}  # a resource's policy, asked once
    for i, op in enumerate(ops):
        if op.holds:
            for r in op.resources:
                p = seen.get(r)
                if p is None:
                    p = seen[r] = pol(r)
                if p != "oldest":
                    raise ConfigError(
                        f"ops[{i}].holds", op.resources, "only resources of policy oldest"
                    )


def policy_function(policies: Policies) -> Callable[[str], str]:
    """A ``resource -> policy`` function from a mapping (missing: ``oldest``),
    a function, or None (every resource ``oldest``)."""
    if policies is None:
        return lambda res: "oldest"
    if callable(policies):
        return policies
    table = dict(policies)
    return lambda res: table.get(res, "oldest")


def check_policy(res: str, pol: str) -> str:
    if pol not in POLICIES:
        raise ConfigError(f"policy[{res!r}]", pol, f"one of {', '.join(POLICIES)}")
    return pol


class _Resource:
    """Ready ops of one resource: per sender, a heap of op indices for each set
    of other resources the ops also need (a candidate needs those free)."""

    __slots__ = ("policy", "senders", "ptr", "groups", "free_at")

    def __init__(self, policy: str, senders: list[int]) -> None:
        self.policy = policy
        self.senders = senders
        self.ptr = len(senders) - 1
        # sender -> {other resources -> heap}
        self.groups: dict[int, dict[tuple, list[int]]] = {s: {} for s in senders}
        self.free_at = 0

    def push(self, i: int, sender: int, others: tuple) -> None:
        heapq.heappush(self.groups[sender].setdefault(others, []), i)

    def _head(self, sender: int, t: int, res: dict, started: list[bool]) -> int | None:
        """The oldest candidate of one sender at cycle ``t`` (None: none)."""
        best = None
        groups = self.groups[sender]
        drained = None
        for others, q in groups.items():
            while q and started[q[0]]:
                heapq.heappop(q)  # started through another of its resources
            if not q:
                drained = drained or []
                drained.append(others)
                continue
            if best is not None and q[0] > best:
                continue
            for o in others:  # a candidate needs every other resource free
                if res[o].free_at > t:
                    break
            else:
                best = q[0]
        if drained:  # empty heaps go (push makes them again): later looks skip them
            for others in drained:
                del groups[others]
        return best

    def pick(self, t: int, res: dict, started: list[bool]) -> int | None:
        """The candidate the policy picks at cycle ``t`` (None: none); a
        ``round_robin`` pick moves the pointer."""
        if self.free_at > t:
            return None
        if self.policy == "oldest":
            if len(self.senders) == 1:  # the usual case: a compute resource
                return self._head(self.senders[0], t, res, started)
            best = None
            for s in self.senders:
                h = self._head(s, t, res, started)
                if h is not None and (best is None or h < best):
                    best = h
            return best
        n = len(self.senders)
        order = range(n) if self.policy == "fixed_priority" else (
            (self.ptr + 1 + j) % n for j in range(n))  # fmt: skip
        for k in order:
            h = self._head(self.senders[k], t, res, started)
            if h is not None:
                if self.policy == "round_robin":
                    self.ptr = k
                return h
        return None


def _resources(
    ops: Sequence[Op], pol: Callable[[str], str]
) -> tuple[dict[str, tuple[str, list[int]]], dict[str, set[str]]]:
    """Every resource's policy and senders, and for each resource of a
    multi-resource op the resources sharing an op with it."""
    check_holds(ops, pol)
    senders: dict[str, set[int]] = {}
    near: dict[str, set[str]] = {}
    for op in ops:
        rs = op.resources
        for r in rs:
            senders.setdefault(r, set()).add(op.sender)
        if op.holds:
            for r in rs:
                near.setdefault(r, set()).update(rs)
    kinds = {r: (check_policy(r, pol(r)), sorted(s)) for r, s in senders.items()}
    return kinds, near


class Arbitrated:
    """A graph prepared for :func:`schedule_arbitrated`: what its schedule
    needs besides the durations (resources, policies, dependents), checked
    and built once, so that :meth:`run` can schedule the same graph under
    many duration vectors (one sample's graph for every tuple of message
    sizes, which only change its link ops' durations).

    Parameters
    ----------
    ops : sequence of Op
        A graph in topological order (list index = age).
    policies : mapping, function or None
        As :func:`schedule_arbitrated`'s.
    """

    def __init__(self, ops: Sequence[Op], policies: Policies = None) -> None:
        check_ops(ops)
        self.ops = list(ops)
        self.kinds, self.near = _resources(ops, policy_function(policies))
        self.res_of = [op.resources for op in ops]  # a property: built once
        self.waiting = [len(set(op.deps)) for op in ops]
        self.dependents = _dependents(ops)
        self.durations = [op.duration for op in ops]
        self._arrays: tuple[np.ndarray, ...] | None = None

    def run(self, durations: Sequence[int] | None = None) -> list[tuple[int, int]]:
        """``(start, finish)`` of every op, with ``durations`` (cycles, one per
        op, integers >= 0) in place of the ops' own when given."""
        if durations is None:
            durations = self.durations
        elif len(durations) != len(self.ops):
            raise ConfigError("durations", len(durations), f"{len(self.ops)} values, one per op")
        else:
            for i, d in enumerate(durations):
                if not isinstance(d, int) or d < 0:
                    raise ConfigError(f"durations[{i}]", d, "an integer >= 0")
        kernel = fast_kernel()
        if kernel is None or not self.ops or sum(durations) >= _KERNEL_CYCLES:
            return _schedule(self, durations)
        starts, finishes = self._run_kernel(kernel, np.asarray([durations], dtype=np.int64))
        return list(zip(starts[0].tolist(), finishes[0].tolist(), strict=True))

    def run_many(self, durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start and finish cycles of every op under each row of ``durations``.

        Parameters
        ----------
        durations : ndarray of int, shape (K, n_ops)
            Row ``k``: every op's duration (cycles, >= 0) in case ``k``.

        Returns
        -------
        starts, finishes : ndarray of int64, shape (K, n_ops)
            What :meth:`run` gives for each row.
        """
        table = np.asarray(durations)
        if table.ndim != 2 or table.shape[1] != len(self.ops):
            raise ConfigError("durations", table.shape, f"a (K, {len(self.ops)}) array")
        if table.dtype.kind not in "iu" or (table.size and table.min() < 0):
            raise ConfigError("durations", table.dtype, "integers >= 0")
        kernel = fast_kernel()
        # no finish exceeds its row's total: below 2**62 the kernel's int64 is exact
        total = table.sum(axis=1, dtype=float).max(initial=0.0)
        if kernel is not None and self.ops and total < _KERNEL_CYCLES:
            return self._run_kernel(kernel, np.ascontiguousarray(table, dtype=np.int64))
        out = np.zeros((2, *table.shape), dtype=np.int64)  # (OverflowError beyond int64)
        for k, row in enumerate(table.tolist()):
            times = _schedule(self, row)
            if times:
                out[:, k] = np.asarray(times, dtype=np.int64).T
        return out[0], out[1]

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The graph as :func:`neurosim.numerics.kernels.schedule.arbitrate_kernel`
        takes it: ``waiting0, dep_ptr, dep_idx, res_ptr, res_idx, policy, rank,
        nsend`` (int64; resources numbered by first use)."""
        if self._arrays is None:
            self._arrays = _graph_arrays(self)
        return self._arrays

    def _run_kernel(self, kernel: Callable, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts = np.empty_like(table)
        finishes = np.empty_like(table)
        kernel(table, *self.arrays(), starts, finishes)
        return starts, finishes


_POLICY_CODE = {"oldest": 0, "round_robin": 1, "fixed_priority": 2}
#: Durations summing to this many cycles or more go to the Python event loop
#: (the kernel counts cycles in int64; no finish exceeds the sum).
_KERNEL_CYCLES = 1 << 62


def _graph_arrays(g: Arbitrated) -> tuple[np.ndarray, ...]:
    ids: dict[str, int] = {}
    res_idx: list[int] = []
    res_ptr = [0]
    for rs in g.res_of:
        res_idx.extend(ids.setdefault(r, len(ids)) for r in rs)
        res_ptr.append(len(res_idx))
    policy = [0] * len(ids)
    nsend = [0] * len(ids)
    rank_of: dict[str, dict[int, int]] = {}
    for r, (pol, senders) in g.kinds.items():
        policy[ids[r]] = _POLICY_CODE[pol]
        nsend[ids[r]] = len(senders)
        rank_of[r] = {s: k for k, s in enumerate(senders)}
    rank = [rank_of[op.resource][op.sender] for op in g.ops]
    dep_ptr = np.cumsum([0] + [len(d) for d in g.dependents])
    dep_idx = [k for d in g.dependents for k in d]

    def i64(x: Sequence[int]) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=np.int64)

    return (i64(g.waiting), i64(dep_ptr), i64(dep_idx), i64(res_ptr), i64(res_idx),
            i64(policy), i64(rank), i64(nsend))  # fmt: skip


def fast_kernel() -> Callable | None:
    """The scheduler kernel to use, or None for the Python event loop.

    The kernel compiled ahead of time where ``neurosim kernels build`` built
    it (it loads without numba); numba's when this process has already
    loaded numba (a fixed run); otherwise None: scheduling alone never
    imports numba, so a float run's start stays light. All three give the
    same schedules (tests/test_hw_timing_kernel.py).
    """
    return _ARBITRATE.resolve()


_ARBITRATE = Fastest("schedule.arbitrate_kernel")


def _dependents(ops: Sequence[Op]) -> list[list[int]]:
    """For every op, the ops that depend on it (each once, in list order)."""
    dependents: list[list[int]] = [[] for _ in ops]
    for i, op in enumerate(ops):
        for d in set(op.deps):
            dependents[d].append(i)
    return dependents


def schedule_arbitrated(ops: Sequence[Op], policies: Policies = None) -> list[tuple[int, int]]:
    """FAST arbitrated scheduler: ``(start, finish)`` of every op.

    Event driven: a heap of finish cycles; at each event cycle the finished ops
    free their resources and release their dependents. The resources whose
    candidates may have changed (those freed or given a ready op, and every
    resource sharing an op with one of them; the others have none) then grant:
    each link its policy's pick, and among the ``oldest`` ones the oldest head
    of all starts, again and again until none has a candidate, which is the
    grant by age across resources.

    Parameters
    ----------
    ops : sequence of Op
        A graph in topological order (list index = age).
    policies : mapping, function or None
        Resource name -> policy (``oldest``, ``round_robin``,
        ``fixed_priority``); missing resources, or None, are ``oldest``.
    """
    return Arbitrated(ops, policies).run()


def _schedule(g: Arbitrated, dur: Sequence[int]) -> list[tuple[int, int]]:
    """:func:`schedule_arbitrated`'s event loop on a prepared graph."""
    ops, res_of, near, dependents = g.ops, g.res_of, g.near, g.dependents
    res = {r: _Resource(p, senders) for r, (p, senders) in g.kinds.items()}
    n = len(ops)
    times: list[tuple[int, int]] = [(0, 0)] * n
    started = [False] * n
    waiting = list(g.waiting)
    events: list[tuple[int, int]] = []
    dirty: set[str] = set()

    def release(i: int, t: int) -> None:
        stack = [i]
        while stack:
            j = stack.pop()
            op = ops[j]
            if dur[j] == 0:
                times[j] = (t, t)
                for k in dependents[j]:
                    waiting[k] -= 1
                    if waiting[k] == 0:
                        stack.append(k)
            elif op.holds:
                all_r = res_of[j]
                for r in all_r:
                    res[r].push(j, op.sender, tuple(o for o in all_r if o != r))
                dirty.update(all_r)
            else:
                res[op.resource].push(j, op.sender, ())
                dirty.add(op.resource)

    def start(i: int, t: int) -> None:
        started[i] = True
        f = t + dur[i]
        for o in res_of[i]:
            res[o].free_at = f
        times[i] = (t, f)
        heapq.heappush(events, (f, i))

    for i in [i for i in range(n) if waiting[i] == 0]:  # the roots, before any release
        release(i, 0)
    t = 0
    while True:
        if near:
            dirty.update(*[near[r] for r in dirty if r in near])
        heads = {}
        for r in dirty:
            i = res[r].pick(t, res, started)
            if i is None:
                continue
            if res[r].policy == "oldest":
                heads[r] = i
            else:
                start(i, t)
        while heads:  # by age across resources: the oldest head starts
            i = min(heads.values())
            start(i, t)
            # only i's resources, and those sharing an op with one of them,
            # can have a new pick (the others' candidates are untouched)
            touched = set(res_of[i])
            if near:
                touched.update(*[near[r] for r in res_of[i] if r in near])
            for r in [r for r in heads if r in touched]:
                h = res[r].pick(t, res, started)
                if h is None:
                    del heads[r]
                else:
                    heads[r] = h
        dirty.clear()
        if not events:
            return times
        t = events[0][0]
        while events and events[0][0] == t:
            _, i = heapq.heappop(events)
            dirty.update(res_of[i])
            for k in dependents[i]:
                waiting[k] -= 1
                if waiting[k] == 0:
                    release(k, t)


def chained(ops: Sequence[Op]) -> bool:
    """True when, on every resource, each op descends (through ``deps``) from
    the op before it on that resource in list order.

    Then no two ops ever compete for a resource: whatever the policies, each
    op starts the cycle its last dependency finishes, and
    :func:`schedule_chained` gives :func:`schedule_arbitrated`'s schedule in
    one pass. One sample's graph is usually chained (its tile's MAC array
    works forward, then backward, then on gradients, each step waiting for the
    one before). Ancestor sets are Python integers used as bit sets.
    """
    ancestors: list[int] = []
    last: dict[str, int] = {}
    for i, op in enumerate(ops):
        a = 0
        for d in op.deps:
            a |= ancestors[d] | (1 << d)
        for r in op.resources:
            j = last.get(r)
            if j is not None and not (a >> j) & 1:
                return False
            last[r] = i
        ancestors.append(a)
    return True


def chained_finishes(deps: Sequence[Sequence[int]], durations: Sequence[int]) -> list[int]:
    """Finish cycle of every op of a :func:`chained` graph given as its ops'
    ``deps`` and ``durations``: each op starts when its last dependency
    finishes (roots at cycle 0)."""
    finish: list[int] = []
    for dp, d in zip(deps, durations, strict=True):
        finish.append(max((finish[j] for j in dp), default=0) + d)
    return finish


def chained_spans(
    deps: Sequence[Sequence[int]], durations: np.ndarray, n_first: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`chained_finishes` of one graph under many duration vectors at once.

    Parameters
    ----------
    deps : sequence of sequences of int
        Each op's dependencies (indices of earlier ops), as ``Op.deps``.
    durations : ndarray of int64, shape (K, n_ops)
        Row ``k`` holds every op's duration (cycles) in the ``k``-th case.
    n_first : int
        How many leading ops the second result covers.

    Returns
    -------
    makespan : ndarray of int64, shape (K,)
        The largest finish of each case (0 without ops).
    first : ndarray of int64, shape (K,)
        The largest finish among the first ``n_first`` ops (0 when none).

    Integer arithmetic throughout: each case equals
    ``max(chained_finishes(deps, durations[k]))`` exactly.
    """
    k, n = durations.shape
    zero = np.zeros(k, dtype=np.int64)
    finish: list[np.ndarray] = []
    span, first = zero, zero
    for i in range(n):
        start = zero
        for j in deps[i]:
            start = np.maximum(start, finish[j])
        f = start + durations[:, i]
        finish.append(f)
        span = np.maximum(span, f)
        if i == n_first - 1:
            first = span
    if n_first >= n:
        first = span
    return span, first


def schedule_chained(ops: Sequence[Op]) -> list[tuple[int, int]]:
    """``(start, finish)`` of every op of a :func:`chained` graph
    (:func:`chained_finishes`)."""
    finish = chained_finishes([op.deps for op in ops], [op.duration for op in ops])
    return [(f - op.duration, f) for op, f in zip(ops, finish, strict=True)]

