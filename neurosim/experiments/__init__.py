"""Experiments: train one run, sweeps and their store, reports, the paper's experiments, theory."""
