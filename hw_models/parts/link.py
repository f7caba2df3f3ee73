"""The chip's links: the forward path, the skip bus and the backward chain."""

from __future__ import annotations

from typing import ClassVar

from hw_models.parts.base import Part, Pricing


class Link(Part):
    """A link between tiles, priced per bit carried over its length.

    Action ``wire``, detail ``(link,)``: one bit over the whole length of
    link ``forward``, ``skip`` or ``chain`` (:meth:`hw_models.chip.Chip.link`).

    Source and scaling: energy table row ``wire``, Keckler et al., "GPUs and
    the future of parallel computing", IEEE Micro 2011, 40 nm, 0.9 V: 256
    bits over 10 mm cost 310 pJ with random data; proportional to length; x
    ``(Vdd(node) / Vdd(40 nm))^2`` (wire capacitance per mm about constant
    across nodes).
    """

    name: ClassVar[str] = "link"
    actions: ClassVar[tuple[str, ...]] = ("wire",)
    rows: ClassVar[tuple[str, ...]] = ("wire",)

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one bit over link ``detail = (link,)``, pJ."""
        length = pricing.chip.link(detail[0]).length_mm
        return pricing.table.energy_pj("wire", pricing.node_nm, length_mm=length)


class NetworkInterface(Part):
    """A tile's network interface: it frames an error message as a packet.

    Action ``packet``, detail ``(link,)``: one message sent on ``link``. It is
    counted (the record's packets per sample) but free in itself: the
    packet's header and payload bits are the :class:`Link`'s ``wire`` bits,
    and the framing logic is not priced (no table row).
    """

    name: ClassVar[str] = "network interface"
    actions: ClassVar[tuple[str, ...]] = ("packet",)
    rows: ClassVar[tuple[str, ...]] = ()

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one packet beyond its wire bits: 0 pJ."""
        return 0.0
