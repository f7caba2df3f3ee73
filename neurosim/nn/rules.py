"""The learning rules of the random-backpropagation family, as data.

Every rule shares the forward pass and the top-layer update
``dW^L = eta R^L (O^{L-1})^T`` with ``R^L = T - O^L``. They differ only in the
error that reaches hidden layer ``h`` (paper notation, Baldi, Sadowski and Lu,
Artificial Intelligence 260, 2018):

========  ================================================  ============
rule      hidden error                                      channel
========  ================================================  ============
bp        R^h = f'(S^h) * (W^{h+1})^T R^{h+1}               chain, W^T
rbp       R^h = f'(S^h) * C^h R^{h+1}                       chain, C^h
srbp      R^h = f'(S^h) * C^h R^L                           skip, C^h
sbp       R^h = f'(S^h) * (W^{h+1})^T ... (W^L)^T R^L       chain, W^T, no f' above h
arbp      as rbp; C^h learns: dC^h = eta O^h (R^{h+1})^T    chain, C^h
asrbp     as srbp; C^h learns: dC^h = eta O^h (R^L)^T       skip, C^h
top-only  no hidden update (the baseline)                   --
drtp      R^h = f'(S^h) * C^h (-T)                          skip, C^h
========  ================================================  ============

``C^h`` has shape ``(N_h, N_src)`` where ``N_src`` is ``N_{h+1}`` for chain
rules and ``N_L`` for skip rules. The engines read these fields; no rule has
code of its own.

DRTP (direct random target projection; Frenkel, Lefebvre and Bol, "Learning
without feedback", Frontiers in Neuroscience 15, 2021) is SRBP with the
one-hot target in place of the output error on the skip path; the output
layer still trains on its own ``R^L = T - O^L``. The sign is the paper's.
Frenkel et al. write DFA as ``dW^h = -eta (B_h^T e * f'(S^h)) (O^{h-1})^T``
with ``e = O^L - T`` (their published code: the gradient estimate of a
hidden layer's output is ``(y - labels) B`` for DFA and ``labels B`` for
DRTP, then autograd applies ``f'`` and SGD subtracts ``eta`` times it), and
DRTP replaces ``e`` by ``T``. With ``C^h = B_h^T``, DFA is exactly SRBP here
(``R^L = T - O^L = -e``), and the paper's DRTP is ``R^h = -f'(S^h) * C^h T``:
the skip message is ``-T``. With a zero-mean symmetric ``C^h`` (dense,
binary, ternary, low rank of a dense draw) ``C^h`` and ``-C^h`` are equally
likely and the two signs learn alike in distribution; with the sparse
{0, 1} format or a ``feedback_mean`` they do not, and the paper's sign is
the one kept. On the chip the message is the label: ``ceil(log2 N_L)`` bits
on the skip bus (:class:`neurosim.channel.packets.LabelLayout`), known when
the sample enters, and ``C^h (-T)`` is minus the label's column of ``C^h``:
``N_h`` reads (or PRNG draws), no product
(:meth:`neurosim.channel.formats.FeedbackFormat.select`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neurosim.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """One learning rule.

    Attributes
    ----------
    name : str
        Name used in configs and reports.
    trains_hidden : bool
        False for the top-only baseline.
    matrix : str
        ``"W"``: the transposed forward weights ``W^{h+1}`` carry the error;
        ``"C"``: the learning-channel matrix ``C^h`` does.
    source : str
        What layer ``h`` receives: ``"next"`` (``R^{h+1}``), ``"top"``
        (``R^L``, over the skip bus), ``"next_raw"`` (layer ``h+1``'s
        signal before its own ``f'`` is applied, as in SBP), or
        ``"target"`` (``-T``, the sample's label, over the skip bus: DRTP).
    adaptive : bool
        ``C^h`` is updated by ``dC^h = eta O^h (R^src)^T``.
    """

    name: str
    trains_hidden: bool
    matrix: str
    source: str
    adaptive: bool = False

    @property
    def skip(self) -> bool:
        """True when one message on the skip bus reaches every hidden layer
        (``R^L`` or the label): every ``C^h`` has ``N_L`` columns."""
        return self.source in ("top", "target")

    @property
    def uses_feedback(self) -> bool:
        """True when the rule stores learning-channel matrices ``C^h``."""
        return self.trains_hidden and self.matrix == "C"


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule("bp", True, "W", "next"),
        Rule("rbp", True, "C", "next"),
        Rule("srbp", True, "C", "top"),
        Rule("sbp", True, "W", "next_raw"),
        Rule("arbp", True, "C", "next", adaptive=True),
        Rule("asrbp", True, "C", "top", adaptive=True),
        Rule("top-only", False, "C", "top"),
        Rule("drtp", True, "C", "target"),
    )
}


def get_rule(name: str) -> Rule:
    """Look a rule up by name; raise :class:`ConfigError` for an unknown one."""
    try:
        return RULES[name]
    except KeyError:
        raise ConfigError("rule", name, f"one of {', '.join(RULES)}") from None


def feedback_shapes(rule: Rule, sizes: list[int]) -> list[tuple[int, int]]:
    """Shapes of ``C^h`` for hidden layers ``h = 1 .. L-1``.

    Parameters
    ----------
    rule : Rule
        The learning rule.
    sizes : list of int
        Layer widths ``[N_0, N_1, ..., N_L]``.

    Returns
    -------
    list of (int, int)
        ``(N_h, N_src)`` per hidden layer; empty when the rule has no ``C``.
    """
    if not rule.uses_feedback:
        return []
    L = len(sizes) - 1
    return [(sizes[h], sizes[L] if rule.skip else sizes[h + 1]) for h in range(1, L)]


def trained_layers(rule: Rule, n_layers: int, freeze: tuple[int, ...] = ()) -> list[int]:
    """0-based indices of the weight layers a run updates.

    Parameters
    ----------
    rule : Rule
        The learning rule (top-only trains only the output layer).
    n_layers : int
        Weight layers ``L``.
    freeze : tuple of int
        1-based layers held fixed (the ``freeze`` config field).

    Returns
    -------
    list of int
        Ascending indices ``i`` (layer ``h = i + 1``).
    """
    first = 0 if rule.trains_hidden else n_layers - 1
    return [i for i in range(first, n_layers) if i + 1 not in freeze]


def split_freeze(freeze: tuple[int, ...], n_blocks: int) -> tuple[set[int], tuple[int, ...]]:
    """``freeze`` of a network with ``n_blocks`` conv blocks in front of its
    dense layers: layers are numbered blocks first (``1 .. n_blocks``), then
    the dense layers (``n_blocks + 1 .. n_blocks + L``, the last one the
    output layer). Returns the frozen blocks (0-based) and the dense part's
    ``freeze`` in its own numbering (``1 .. L``, as :func:`trained_layers`
    takes it)."""
    blocks = {h - 1 for h in freeze if h <= n_blocks}
    return blocks, tuple(h - n_blocks for h in freeze if h > n_blocks)


def projects_at_sender(rule: Rule, cfg: Any) -> bool:
    """Whether hidden layer ``h``'s projection ``B^h`` is made where
    ``R^{h+1}`` lives and sent down the chain as an error word.

    BP and SBP always: the transposed read happens where ``W^{h+1}`` lives. RBP-type
    rules with ``error_coding = "before_derivative"`` too (``C^h`` kept next
    to ``W^{h+1}``): the chain then carries ``Q(B^h)``, the one code per
    layer, and ``R^{h+1}`` keeps its ``f'``. Coding the message ``R^{h+1}``
    and then ``B^h`` again would code twice per layer; at 1 bit each code
    gives every component the message's largest magnitude and drops ``f'``,
    and the inflation compounds down the chain (RBP collapsed to chance).
    """
    if not rule.trains_hidden:
        return False
    if rule.matrix == "W":
        return True
    return rule.source == "next" and cfg.error_coding == "before_derivative"


def codes_chain(rule: Rule, cfg: Any) -> bool:
    """Whether the words sent down the chain are log codes (SBP's chain
    signal; BP's and RBP's ``Q(B^h)`` with ``error_coding =
    "before_derivative"``): the codes that ``error_sign_scale`` applies to."""
    if not (cfg.error_bits and projects_at_sender(rule, cfg)):
        return False
    return rule.source == "next_raw" or cfg.error_coding == "before_derivative"
