"""The FAST scheduler and the cycle counts of a sample and a minibatch update.

:func:`schedule` gives every op its start and finish in one pass over the list
(closed form, see the semantics in :mod:`hw_models.timing`); it is tested
equal to the cycle stepper :class:`hw_models.timing.golden.GoldenStepper`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hw_models.timing.graph import build_inference_graph, build_sample_graph, build_update_graph
from hw_models.timing.model import (
    ChipTiming,
    LayerTiming,
    Op,
    ProjectionWork,
    check_layers,
    check_ops,
)


def schedule(ops: Sequence[Op]) -> list[tuple[int, int]]:
    """FAST scheduler: ``(start, finish)`` of every op, in one pass over the list.

    ``start = max(0, finish of each dep, finish of the previous op on each of
    its resources)``, ``finish = start + duration``.
    """
    check_ops(ops)
    free_at: dict[str, int] = {}
    times: list[tuple[int, int]] = []
    for op in ops:
        start = max(free_at.get(r, 0) for r in op.resources)
        for d in op.deps:
            start = max(start, times[d][1])
        finish = start + op.duration
        times.append((start, finish))
        for r in op.resources:
            free_at[r] = finish
    return times


def makespan(times: Iterable[tuple[int, int]]) -> int:
    """Largest finish cycle of a schedule (0 when empty)."""
    return max((f for _, f in times), default=0)


def sample_cycles(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msg_bits: Mapping[str, int] | None = None,
    proj: Mapping[int, ProjectionWork] | None = None,
) -> dict[str, int]:
    """Cycles of one sample (FAST scheduler); ``msg_bits`` and ``proj`` as
    for :func:`~hw_models.timing.graph.build_sample_graph`.

    Returns
    -------
    dict
        ``train``: makespan of the training-sample graph; ``forward``: cycle at
        which its forward phase (``flut{L}``) finishes; ``backward``:
        ``train - forward``; ``inference``: makespan of the forward-only graph
        (equal to ``forward``, since forward ops issue first on every resource).
    """
    layers = check_layers(layers)
    train_ops = build_sample_graph(layers, chip, rule, msg_bits, proj)
    infer_ops = build_inference_graph(layers, chip)
    times = schedule(train_ops)
    train = makespan(times)
    forward = makespan(times[: len(infer_ops)])
    return {
        "train": train,
        "forward": forward,
        "backward": train - forward,
        "inference": makespan(schedule(infer_ops)),
    }


def batch_update_cycles(
    layers: Sequence[LayerTiming], chip: ChipTiming, trained: Iterable[int]
) -> int:
    """Cycles of the once-per-minibatch update of the given layers (FAST scheduler)."""
    return makespan(schedule(build_update_graph(layers, chip, trained)))
