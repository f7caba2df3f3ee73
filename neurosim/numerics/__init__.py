"""Numerics: fixed-point formats, rounding, log codes, random streams and the numba kernels."""
