"""The accountant for a run: dense, or with conv blocks in front."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurosim.cost.accounting import Accountant

if TYPE_CHECKING:
    from neurosim.plan import Plan


def make_accountant(plan: Plan) -> Accountant:
    """An accountant for the run ``plan`` on its chip and mapping (conv blocks
    in front of the dense layers get a
    :class:`~neurosim.cost.conv_accounting.ConvAccountant`).

    Raises
    ------
    ValueError
        The plan has no chip (it was made without chip accounting).
    """
    if plan.chip is None or plan.mapping is None or plan.storage is None:
        raise ValueError("make_accountant needs a plan made with a chip")
    kind = Accountant
    if plan.blocks:  # loaded here: a dense run needs none of the conv modules
        from neurosim.cost.conv_accounting import ConvAccountant

        kind = ConvAccountant
    return kind.from_plan(
        plan,
        col_blocks=plan.mapping.col_blocks,
        regenerated=plan.storage.regenerated,
        n_tiles=plan.chip.n_tiles,
    )
