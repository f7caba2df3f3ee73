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
   has finished at a cycle ``<= c``. At every cycle ``c``, each resource that
   no op occupies at ``c`` and that has ready, unstarted ops starts exactly one
   of them, chosen by its policy. The op occupies cycles ``c .. c+d-1`` and
   finishes at ``c + d`` (non-preemptive: the resource is free again at
   ``c + d``).
3. Policies:

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
       sender granted (initially ``n - 1``); the ready sender with the
       smallest ``(rank - r - 1) mod n`` is granted, and its oldest ready op
       starts.
   ``fixed_priority``
       the ready op of the smallest sender; the oldest among that sender's.

4. The makespan is the largest finish (0 for an empty list).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence

from hw_models.timing.model import Op, check_ops
from hw_models.timing.options import POLICIES
from neurosim.errors import ConfigError

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
    """Ready ops of one resource, by sender (heaps of op indices)."""

    __slots__ = ("policy", "senders", "rank", "ptr", "ready", "n_ready", "free_at")

    def __init__(self, policy: str, senders: list[int]) -> None:
        self.policy = policy
        self.senders = senders
        self.rank = {s: k for k, s in enumerate(senders)}
        self.ptr = len(senders) - 1
        self.ready: dict[int, list[int]] = {s: [] for s in senders}
        self.n_ready = 0
        self.free_at = 0

    def push(self, i: int, sender: int) -> None:
        heapq.heappush(self.ready[sender], i)
        self.n_ready += 1

    def pop(self) -> int:
        if self.policy == "oldest":
            s = min((q[0], s) for s, q in self.ready.items() if q)[1]
        elif self.policy == "fixed_priority":
            s = next(s for s in self.senders if self.ready[s])
        else:
            n = len(self.senders)
            order = ((self.ptr + 1 + j) % n for j in range(n))
            k = next(k for k in order if self.ready[self.senders[k]])
            self.ptr = k
            s = self.senders[k]
        self.n_ready -= 1
        return heapq.heappop(self.ready[s])


def schedule_arbitrated(ops: Sequence[Op], policies: Policies = None) -> list[tuple[int, int]]:
    """FAST arbitrated scheduler: ``(start, finish)`` of every op.

    Event driven: a heap of finish cycles; at each event cycle the finished ops
    free their resources and release their dependents, then every free
    resource with ready ops starts the one its policy picks.

    Parameters
    ----------
    ops : sequence of Op
        A graph in topological order (list index = age).
    policies : mapping, function or None
        Resource name -> policy (``oldest``, ``round_robin``,
        ``fixed_priority``); missing resources, or None, are ``oldest``.
    """
    check_ops(ops)
    pol = policy_function(policies)
    n = len(ops)
    senders: dict[str, set[int]] = {}
    for op in ops:
        senders.setdefault(op.resource, set()).add(op.sender)
    res = {r: _Resource(check_policy(r, pol(r)), sorted(s)) for r, s in senders.items()}
    times: list[tuple[int, int]] = [(0, 0)] * n
    waiting = [len(set(op.deps)) for op in ops]
    dependents: list[list[int]] = [[] for _ in range(n)]
    for i, op in enumerate(ops):
        for d in set(op.deps):
            dependents[d].append(i)
    events: list[tuple[int, int]] = []
    dirty: set[str] = set()

    def release(i: int, t: int) -> None:
        stack = [i]
        while stack:
            j = stack.pop()
            op = ops[j]
            if op.duration == 0:
                times[j] = (t, t)
                for k in dependents[j]:
                    waiting[k] -= 1
                    if waiting[k] == 0:
                        stack.append(k)
            else:
                res[op.resource].push(j, op.sender)
                dirty.add(op.resource)

    for i in [i for i in range(n) if waiting[i] == 0]:  # the roots, before any release
        release(i, 0)
    t = 0
    while True:
        for r in dirty:
            st = res[r]
            if st.n_ready and st.free_at <= t:
                i = st.pop()
                st.free_at = t + ops[i].duration
                times[i] = (t, st.free_at)
                heapq.heappush(events, (st.free_at, i))
        dirty.clear()
        if not events:
            return times
        t = events[0][0]
        while events and events[0][0] == t:
            _, i = heapq.heappop(events)
            dirty.add(ops[i].resource)
            for k in dependents[i]:
                waiting[k] -= 1
                if waiting[k] == 0:
                    release(k, t)
