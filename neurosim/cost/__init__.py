"""Action counts of a run (accountants) and the bill: energy, cycles, memory, area."""
