"""The timing model's arbitrated scheduler as a kernel over arrays.

:func:`arbitrate_kernel` computes what
:func:`hw_models.timing.arbiter.schedule_arbitrated` computes (the semantics
are that module's, shared with :class:`hw_models.timing.golden.GoldenArbiter`)
for a graph given as arrays (:meth:`hw_models.timing.arbiter.Arbitrated.arrays`
builds them), under one or many duration vectors. A run's timing report
schedules one sample's graph for every distinct tuple of message sizes (up to
a few hundred) and a representative minibatch (thousands of ops): the
Python event loop takes 0.3-1 ms a sample graph, this kernel microseconds.

Event driven: at each event cycle ``t`` (0, then each distinct finish) the
ops finishing at ``t`` release their dependents (an op of duration 0 finishes
as it is released, at ``t``); then every link resource (policy
``round_robin`` or ``fixed_priority``, whose ops need nothing else) that is
free grants its policy's pick, and the ready ``oldest`` ops are taken in
increasing index, each starting when all its resources are still free: the
grant by age across resources.
"""

from __future__ import annotations

import numpy as np

from neurosim.numerics.kernels._lazy import jit

#: Policy codes of :func:`arbitrate_kernel`'s ``policy`` array.
OLDEST, ROUND_ROBIN, FIXED_PRIORITY = 0, 1, 2


@jit(cache=True)
def arbitrate_kernel(
    durs, waiting0, dep_ptr, dep_idx, res_ptr, res_idx, policy, rank, nsend, starts, finishes
):
    """Start and finish cycle of every op under each duration vector.

    Parameters
    ----------
    durs : ndarray of int64, shape (K, n)
        Row ``k``: every op's duration (cycles, >= 0) in case ``k``.
    waiting0 : ndarray of int64, shape (n,)
        Distinct dependencies of each op (0: a root).
    dep_ptr, dep_idx : ndarray of int64, shapes (n + 1,), (E,)
        Dependents of op ``i`` (each once): ``dep_idx[dep_ptr[i]:dep_ptr[i + 1]]``.
    res_ptr, res_idx : ndarray of int64, shapes (n + 1,), (M,)
        Resources op ``i`` needs (ids ``0 .. R-1``; an op on a link resource
        needs only that one): ``res_idx[res_ptr[i]:res_ptr[i + 1]]``.
    policy : ndarray of int64, shape (R,)
        Each resource's policy: :data:`OLDEST`, :data:`ROUND_ROBIN` or
        :data:`FIXED_PRIORITY`.
    rank : ndarray of int64, shape (n,)
        An op's sender's rank among the distinct senders of its resource
        (used for link ops only).
    nsend : ndarray of int64, shape (R,)
        Distinct senders of each resource.
    starts, finishes : ndarray of int64, shape (K, n)
        Written: ``(start, finish)`` of every op in every case (ops never
        started, only in a malformed graph, stay 0).
    """
    n_cases, n = durs.shape
    n_res = policy.size
    waiting = np.empty(n, np.int64)
    started = np.zeros(n, np.bool_)
    ready = np.empty(n, np.int64)  # released, duration > 0, not started; increasing
    running = np.empty(n, np.int64)  # started, not finished
    stack = np.empty(n, np.int64)
    free_at = np.zeros(n_res, np.int64)
    ptr = np.empty(n_res, np.int64)
    links = np.flatnonzero(policy != OLDEST)
    for case in range(n_cases):
        dur = durs[case]
        st = starts[case]
        fi = finishes[case]
        for i in range(n):
            waiting[i] = waiting0[i]
            started[i] = False
            st[i] = 0
            fi[i] = 0
        for r in range(n_res):
            free_at[r] = 0
            ptr[r] = nsend[r] - 1
        n_ready = 0
        n_run = 0
        t = 0
        for root in range(n):
            if waiting0[root] == 0:
                n_ready = _release(root, t, dur, waiting, dep_ptr, dep_idx, ready, n_ready,
                                   stack, st, fi)  # fmt: skip
        while True:
            for r in links:  # each free link starts its policy's pick
                if free_at[r] <= t:
                    i = _link_pick(r, ready, n_ready, started, res_ptr, res_idx, policy, rank,
                                   nsend, ptr)  # fmt: skip
                    if i >= 0:
                        if policy[r] == ROUND_ROBIN:
                            ptr[r] = rank[i]
                        n_run = _start(i, t, dur, res_ptr, res_idx, started, st, fi, free_at,
                                       running, n_run)  # fmt: skip
            # oldest: by age across resources, each taking all its resources at once
            for p in range(n_ready):
                i = ready[p]
                if not started[i] and _all_free(i, t, res_ptr, res_idx, policy, free_at):
                    n_run = _start(i, t, dur, res_ptr, res_idx, started, st, fi, free_at,
                                   running, n_run)  # fmt: skip
            kept = 0
            for p in range(n_ready):
                if not started[ready[p]]:
                    ready[kept] = ready[p]
                    kept += 1
            n_ready = kept
            if n_run == 0:
                break
            t = fi[running[0]]
            for p in range(1, n_run):
                t = min(t, fi[running[p]])
            kept = 0
            for p in range(n_run):  # those finishing at t release their dependents
                i = running[p]
                if fi[i] != t:
                    running[kept] = i
                    kept += 1
                    continue
                for m in range(dep_ptr[i], dep_ptr[i + 1]):
                    k = dep_idx[m]
                    waiting[k] -= 1
                    if waiting[k] == 0:
                        n_ready = _release(k, t, dur, waiting, dep_ptr, dep_idx, ready, n_ready,
                                           stack, st, fi)  # fmt: skip
            n_run = kept


@jit(cache=True)
def _link_pick(r, ready, n_ready, started, res_ptr, res_idx, policy, rank, nsend, ptr):
    """The ready op link ``r``'s policy picks (-1: none): round robin, the
    sender next after the last granted one; fixed priority, the smallest
    sender; the oldest op of that sender."""
    best = -1
    best_key = 0
    n = started.size
    for p in range(n_ready):
        i = ready[p]
        if started[i] or res_idx[res_ptr[i]] != r:
            continue
        if policy[r] == ROUND_ROBIN:
            key = ((rank[i] - ptr[r] - 1) % nsend[r]) * n + i
        else:
            key = rank[i] * n + i
        if best < 0 or key < best_key:
            best = i
            best_key = key
    return best


@jit(cache=True)
def _all_free(i, t, res_ptr, res_idx, policy, free_at):
    """Whether every resource op ``i`` needs is an ``oldest`` one free at ``t``."""
    for m in range(res_ptr[i], res_ptr[i + 1]):
        r = res_idx[m]
        if policy[r] != OLDEST or free_at[r] > t:
            return False
    return True


@jit(cache=True)
def _start(i, t, dur, res_ptr, res_idx, started, st, fi, free_at, running, n_run):
    """Op ``i`` starts at ``t`` and occupies its resources; returns the new
    number of running ops."""
    started[i] = True
    st[i] = t
    fi[i] = t + dur[i]
    for m in range(res_ptr[i], res_ptr[i + 1]):
        free_at[res_idx[m]] = fi[i]
    running[n_run] = i
    return n_run + 1


@jit(cache=True)
def _release(i, t, dur, waiting, dep_ptr, dep_idx, ready, n_ready, stack, st, fi):
    """Op ``i``'s dependencies have finished at ``t``: a duration-0 op finishes
    now and releases its dependents in turn; any other joins ``ready`` (kept
    increasing). Returns the new length of ``ready``."""
    top = 0
    stack[top] = i
    top += 1
    while top:
        top -= 1
        j = stack[top]
        if dur[j] == 0:
            st[j] = t
            fi[j] = t
            for m in range(dep_ptr[j], dep_ptr[j + 1]):
                k = dep_idx[m]
                waiting[k] -= 1
                if waiting[k] == 0:
                    stack[top] = k
                    top += 1
        else:
            p = n_ready
            while p > 0 and ready[p - 1] > j:
                ready[p] = ready[p - 1]
                p -= 1
            ready[p] = j
            n_ready += 1
    return n_ready
