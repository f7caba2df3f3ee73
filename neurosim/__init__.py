"""neurosim: a bit-exact simulator of a tiled synaptic-array chip that learns on-chip.

The learning rules are those of Baldi, Sadowski and Lu, "Learning in the
Machine: Random Backpropagation and the Deep Learning Channel" (Artificial
Intelligence 260, 2018): BP, RBP, SRBP, SBP, ARBP, ASRBP and top-only.
"""

__version__ = "0.1.0"
