"""The small systems the paper analyses, as ODEs and as discrete learning rules.

Baldi, Sadowski and Lu prove that RBP and SRBP converge to the global
optimum, from almost every initial condition, for four architectures.  Here
each one is an autonomous polynomial ODE for the *average* dynamics of the
weights (learning rate -> 0, averages over the data), integrated with a
fixed-step fourth-order Runge-Kutta scheme, next to the *discrete* stochastic
rule it averages (one random sample per step, learning rate ``eta``).

Notation (the paper's): data ``x`` with ``alpha = E[x^2]`` and teacher
targets with ``beta = E[T x]``; ``P`` is the product of the forward weights
(the network's overall gain); ``c`` are the fixed random weights of the
learning channel.

Systems
-------
``chain``  [1, 1, ..., 1], linear, ``L`` weights ``a_1..a_L``
    ``da_h/dt = g_h (beta - alpha P) prod_{k<h} a_k`` with ``g_L = 1`` and,
    for ``h < L``: BP ``g_h = prod_{k>h} a_k``; RBP ``g_h = prod_{k=h}^{L-1}
    c_k``; SRBP ``g_h = c_h``.  Optimum: ``P = beta / alpha``.
``expand`` [1, N, 1], linear, ``a`` (input to hidden), ``b`` (hidden to output)
    ``P = b . a``, ``db/dt = (beta - alpha P) a``, ``da/dt = (beta - alpha P) c``
    (RBP) or ``... b`` (BP).  Optimum: ``P = beta / alpha``.
``compress`` [N, 1, N], linear autoencoder on decorrelated data (``E[x x^T] = I``)
    ``db/dt = a - b (a . a)``; ``da/dt = c - a (b . c)`` (RBP) or
    ``b - a (b . b)`` (BP).  Loss ``E|x - b a^T x|^2 / 2 = (N - 2 a.b +
    |a|^2 |b|^2) / 2``; optimum ``(N - 1) / 2`` at ``a . b = 1``, ``a || b``.
``power``  [1, 1, 1] with hidden ``f(s) = sign(s) |s|^mu``, linear output
    On ``x ~ N(0, 1)`` with teacher ``T = t x``: ``P = a_2 f(a_1)``,
    ``m_1 = E|x|^{1+mu}``, ``m_2 = E|x|^{2 mu}``; ``da_2/dt = f(a_1) (t m_1 -
    P m_2)``; with f': ``da_1/dt = c mu |a_1|^{mu-1} (t m_1 - P m_2)``;
    without f': ``da_1/dt = c (t - P m_1)``.  With f' both weights push ``P``
    to the optimum ``t m_1 / m_2``; without f', ``a_1`` pushes it to
    ``t / m_1`` instead, so for ``mu != 1`` there is no common fixed point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "System",
    "chain",
    "compress",
    "converged_fraction",
    "expand",
    "integrate",
    "power",
    "simulate",
]

Field = Callable[[np.ndarray], np.ndarray]


@dataclass
class System:
    """One learning system: its average ODE, its loss and its optimum.

    Attributes
    ----------
    name : str
        Short label, e.g. ``"[1,1,1,1] RBP"``.
    field : callable
        ``field(w) -> dw/dt`` for a state ``w`` of shape ``(K, D)`` (K initial
        conditions at once).
    loss : callable
        Average loss of states ``(K, D) -> (K,)``.
    optimum : float
        The global minimum of the loss.
    gain : callable
        ``P`` of states ``(K, D) -> (K,)``.
    sample_step : callable or None
        ``sample_step(w, rng, eta) -> w`` applies the discrete rule on one
        random sample (None if not provided).
    """

    name: str
    field: Field
    loss: Callable[[np.ndarray], np.ndarray]
    optimum: float
    gain: Callable[[np.ndarray], np.ndarray]
    sample_step: Callable | None = None
    dim: int = 0


def integrate(system: System, w0: np.ndarray, t_end: float, dt: float) -> np.ndarray:
    """Fourth-order Runge-Kutta from ``w0`` ``(K, D)`` to time `t_end`.

    Returns the state at every step, shape ``(steps + 1, K, D)``; states that
    blow up (beyond 1e6) are frozen as NaN rather than overflowing.
    """
    steps = int(round(t_end / dt))
    out = np.empty((steps + 1, *w0.shape))
    w = np.array(w0, dtype=np.float64)
    out[0] = w
    f = system.field
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(steps):
            k1 = f(w)
            k2 = f(w + 0.5 * dt * k1)
            k3 = f(w + 0.5 * dt * k2)
            k4 = f(w + dt * k3)
            w = w + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            w[~np.all(np.abs(w) < 1e6, axis=1)] = np.nan
            out[i + 1] = w
    return out


def converged_fraction(system: System, w_end: np.ndarray, tol: float = 1e-3) -> float:
    """Fraction of final states within `tol` of the optimal loss, moving
    slower than `tol` (a fixed point, not a passage)."""
    with np.errstate(invalid="ignore", over="ignore"):
        near = np.abs(system.loss(w_end) - system.optimum) < tol
        still = np.linalg.norm(system.field(w_end), axis=1) < tol
    return float(np.mean(near & still))


def simulate(
    system: System, w0: np.ndarray, steps: int, eta: float, seed: int = 0
) -> np.ndarray:
    """The discrete learning rule: `steps` single-sample updates of rate `eta`.

    Returns the loss every ``steps // 100`` updates, shape ``(101, K)``.
    """
    if system.sample_step is None:
        raise ValueError(f"{system.name}: no discrete rule")
    rng = np.random.default_rng(seed)
    w = np.array(w0, dtype=np.float64)
    every = max(1, steps // 100)
    out = [system.loss(w)]
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(1, steps + 1):
            w = system.sample_step(w, rng, eta)
            if i % every == 0:
                out.append(system.loss(w))
    return np.array(out[:101])


# ------------------------------- the systems -------------------------------- #


def _prods(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Products below and above each weight: ``prod_{k<h} a_k``, ``prod_{k>h} a_k``."""
    ones = np.ones((a.shape[0], 1))
    below = np.cumprod(np.hstack([ones, a[:, :-1]]), axis=1)
    above = np.cumprod(np.hstack([ones, a[:, :0:-1]]), axis=1)[:, ::-1]
    return below, above


def chain(
    L: int, rule: str, c: np.ndarray | None = None, alpha: float = 1.0, beta: float = 1.0
) -> System:
    """Linear chain [1, ..., 1] of ``L`` weights under BP, RBP or SRBP.

    Parameters
    ----------
    L : int
        Number of weights (``L + 1`` layers).
    rule : str
        ``bp``, ``rbp`` or ``srbp``.
    c : ndarray, optional
        ``(L - 1,)`` learning-channel weights (default: ones).
    alpha, beta : float
        ``E[x^2]`` and ``E[T x]``.
    """
    c = np.ones(L - 1) if c is None else np.asarray(c, dtype=np.float64)
    if rule == "rbp":  # g_h = c_h c_{h+1} ... c_{L-1}
        g_fixed = np.append(np.cumprod(c[::-1])[::-1], 1.0)
    elif rule == "srbp":
        g_fixed = np.append(c, 1.0)
    elif rule == "bp":
        g_fixed = None
    else:
        raise ValueError(f"rule {rule!r}: bp, rbp or srbp")

    def gain(a: np.ndarray) -> np.ndarray:
        return np.prod(a, axis=1)

    def field(a: np.ndarray) -> np.ndarray:
        below, above = _prods(a)
        e = (beta - alpha * gain(a))[:, None]
        g = above if g_fixed is None else g_fixed[None, :]
        return g * e * below

    def loss(a: np.ndarray) -> np.ndarray:
        return 0.5 * (alpha * gain(a) ** 2 - 2 * beta * gain(a)) + 0.5 * beta**2 / alpha

    def step(a: np.ndarray, rng: np.random.Generator, eta: float) -> np.ndarray:
        # one sample x ~ N(0, alpha), target T = (beta / alpha) x
        x = rng.normal(0.0, math.sqrt(alpha), size=(a.shape[0], 1))
        below, above = _prods(a)
        r = (beta / alpha) * x - gain(a)[:, None] * x  # T - O
        g = above if g_fixed is None else g_fixed[None, :]
        return a + eta * g * r * below * x

    name = f"[{','.join(['1'] * (L + 1))}] {rule.upper()}"
    return System(name, field, loss, 0.0, gain, step, L)


def expand(N: int, rule: str, c: np.ndarray, alpha: float = 1.0, beta: float = 1.0) -> System:
    """Linear [1, N, 1]: state ``[a (N), b (N)]``; ``c`` the ``(N,)`` channel."""
    c = np.asarray(c, dtype=np.float64)

    def gain(w: np.ndarray) -> np.ndarray:
        return np.sum(w[:, :N] * w[:, N:], axis=1)

    def field(w: np.ndarray) -> np.ndarray:
        a, b = w[:, :N], w[:, N:]
        e = (beta - alpha * gain(w))[:, None]
        da = e * (b if rule == "bp" else c[None, :])
        return np.hstack([da, e * a])

    def loss(w: np.ndarray) -> np.ndarray:
        p = gain(w)
        return 0.5 * (alpha * p**2 - 2 * beta * p) + 0.5 * beta**2 / alpha

    def step(w: np.ndarray, rng: np.random.Generator, eta: float) -> np.ndarray:
        x = rng.normal(0.0, math.sqrt(alpha), size=(w.shape[0], 1))
        a, b = w[:, :N], w[:, N:]
        r = ((beta / alpha) - gain(w)[:, None]) * x
        da = r * (b if rule == "bp" else c[None, :]) * x
        return w + eta * np.hstack([da, r * a * x])

    return System(f"[1,{N},1] {rule.upper()}", field, loss, 0.0, gain, step, 2 * N)


def compress(N: int, rule: str, c: np.ndarray) -> System:
    """Linear autoencoder [N, 1, N] on decorrelated data: state ``[a (N), b (N)]``."""
    c = np.asarray(c, dtype=np.float64)

    def field(w: np.ndarray) -> np.ndarray:
        a, b = w[:, :N], w[:, N:]
        aa = np.sum(a * a, axis=1, keepdims=True)
        db = a - b * aa
        if rule == "bp":
            da = b - a * np.sum(b * b, axis=1, keepdims=True)
        else:
            da = c[None, :] - a * (b @ c)[:, None]
        return np.hstack([da, db])

    def loss(w: np.ndarray) -> np.ndarray:
        a, b = w[:, :N], w[:, N:]
        ab = np.sum(a * b, axis=1)
        return 0.5 * (N - 2 * ab + np.sum(a * a, axis=1) * np.sum(b * b, axis=1))

    def gain(w: np.ndarray) -> np.ndarray:
        return np.sum(w[:, :N] * w[:, N:], axis=1)

    def step(w: np.ndarray, rng: np.random.Generator, eta: float) -> np.ndarray:
        x = rng.normal(size=(w.shape[0], N))
        a, b = w[:, :N], w[:, N:]
        h = np.sum(a * x, axis=1, keepdims=True)
        r = x - b * h  # T - O with T = x
        back = np.sum(r * (b if rule == "bp" else c[None, :]), axis=1, keepdims=True)
        return w + eta * np.hstack([back * x, r * h])

    return System(f"[{N},1,{N}] {rule.upper()}", field, loss, 0.5 * (N - 1), gain, step, 2 * N)


def power_moments(mu: float) -> tuple[float, float]:
    """``m_1 = E|x|^{1+mu}`` and ``m_2 = E|x|^{2 mu}`` for ``x ~ N(0, 1)``."""

    def absmoment(p: float) -> float:  # E|x|^p = 2^{p/2} Gamma((p+1)/2) / sqrt(pi)
        return 2 ** (p / 2) * math.gamma((p + 1) / 2) / math.sqrt(math.pi)

    return absmoment(1 + mu), absmoment(2 * mu)


def power(mu: float, derivative: bool, c: float = 1.0, t: float = 1.0) -> System:
    """[1, 1, 1] with ``f(s) = sign(s)|s|^mu`` hidden, linear output, RBP.

    State ``[a_1, a_2]``; data ``x ~ N(0, 1)``, targets ``T = t x``.
    """
    m1, m2 = power_moments(mu)

    def f(s: np.ndarray) -> np.ndarray:
        return np.sign(s) * np.abs(s) ** mu

    def gain(w: np.ndarray) -> np.ndarray:
        return w[:, 1] * f(w[:, 0])

    def field(w: np.ndarray) -> np.ndarray:
        a1 = w[:, 0]
        p = gain(w)
        e = t * m1 - p * m2
        if derivative:
            da1 = c * mu * np.abs(a1) ** (mu - 1) * e
        else:
            da1 = c * (t - p * m1)
        return np.column_stack([da1, f(a1) * e])

    def loss(w: np.ndarray) -> np.ndarray:
        p = gain(w)
        return 0.5 * (t * t - 2 * t * p * m1 + p * p * m2)

    opt = 0.5 * (t * t - t * t * m1 * m1 / m2)  # at P = t m1 / m2
    label = f"[1,1,1] x^{mu:g} RBP" + ("" if derivative else " without f′")
    return System(label, field, loss, opt, gain, None, 2)
