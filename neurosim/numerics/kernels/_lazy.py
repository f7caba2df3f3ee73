"""Kernels that load on their first call: compiled ahead of time, or numba.

Every kernel is written once, as a numba ``@njit`` function, and decorated
with :func:`jit` instead of ``numba.njit``. The decorator returns a
:class:`Kernel`, which imports nothing. On its first call from Python the
kernel resolves to one of two implementations of the same source:

* the ahead-of-time compiled module (:mod:`neurosim.numerics.kernels.aot`
  builds it, :mod:`neurosim.numerics.kernels._compiled` loads it),
  when one was built for this machine and holds the kernel: a guard checks
  the arguments' types against the compiled signatures (numba's own typing
  rules: dtype, dimensions, layout, writability) and calls the compiled
  function, or numba when no signature matches;
* numba's just-in-time dispatcher (loaded from numba's cache), otherwise.

The first time any kernel needs numba, every kernel becomes a numba
dispatcher at once (:func:`materialize`): the njit code of one kernel calls
others through its module's globals, which numba must see as dispatchers.
The module globals that named a kernel then name its dispatcher; a kernel
already resolved to a compiled guard keeps it for calls from Python. njit
code outside this package that calls a kernel imports it after
:func:`materialize` (then the name is the dispatcher).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from neurosim.numerics.kernels import _compiled
from neurosim.numerics.kernels._compiled import guard

_PKG = "neurosim.numerics.kernels."

#: Every kernel defined so far, in definition order.
REGISTRY: list[Kernel] = []
_state = {"numba": None}


class Kernel:
    """A numba kernel that loads on its first call (see the module docstring).

    Parameters
    ----------
    py_func : callable
        The kernel's Python source, compiled by numba with ``options``.
    options : dict
        ``numba.njit`` options (``cache``, ``fastmath``, ``inline``).
    """

    def __init__(self, py_func: Callable, options: dict[str, Any]) -> None:
        self.py_func = py_func
        self.options = options
        self.dispatcher: Any = None
        self._call: Callable | None = None
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__module__ = py_func.__module__
        self.__doc__ = py_func.__doc__
        REGISTRY.append(self)

    @property
    def key(self) -> str:
        """``module.name`` with the module relative to the kernels package."""
        return f"{self.__module__.removeprefix(_PKG)}.{self.__name__}"

    def __call__(self, *args: Any) -> Any:
        call = self._call
        if call is None:
            call = self.resolve()
        return call(*args)

    def resolve(self) -> Callable:
        """The callable this kernel's Python calls go to from now on."""
        call = guard(self)
        if call is None:
            call = self.jit()
        self._call = call
        # later calls through the defining module or the package skip this object
        for name in (self.__module__, _PKG[:-1]):
            mod = sys.modules.get(name)
            if mod is not None and mod.__dict__.get(self.__name__) is self:
                mod.__dict__[self.__name__] = call
        return call

    def jit(self) -> Any:
        """numba's dispatcher of this kernel (every kernel's, on the first use)."""
        if self.dispatcher is None:
            materialize()
        return self.dispatcher

    def __repr__(self) -> str:
        return f"<kernel {self.key}>"


def kernel_of(value: Any) -> Kernel | None:
    """The kernel ``value`` stands for: a :class:`Kernel`, its compiled guard, or None."""
    if isinstance(value, Kernel):
        return value
    return getattr(value, "__neurosim_kernel__", None)


def jit(**options: Any) -> Callable[[Callable], Any]:
    """Decorator: ``numba.njit(**options)``, loaded on the kernel's first call.

    Once numba is loaded (:func:`materialize`), kernels defined later are
    numba dispatchers straight away, so njit code sees them as such.
    """

    def wrap(py_func: Callable) -> Any:
        k = Kernel(py_func, options)
        if _state["numba"] is not None:
            k.dispatcher = _state["numba"].njit(**options)(py_func)
            return k.dispatcher
        return k

    return wrap


def materialize() -> None:
    """Import numba and make every kernel a numba dispatcher (module globals too)."""
    if _state["numba"] is not None:
        return
    from neurosim.numerics.kernels._target import numba_module

    nb = numba_module()
    for k in REGISTRY:
        if k.dispatcher is None:
            k.dispatcher = nb.njit(**k.options)(k.py_func)
    _state["numba"] = nb
    for name, mod in list(sys.modules.items()):
        if name.startswith(_PKG) and mod is not None:
            d = mod.__dict__
            for attr, value in list(d.items()):
                k = kernel_of(value)
                if k is not None:
                    d[attr] = k.dispatcher


class Fastest:
    """Calls of kernel ``key`` (``module.name``) where they cost no numba start.

    The kernel compiled ahead of time where ``neurosim kernels build`` built
    it; numba's dispatcher once this process has loaded numba (a fixed run);
    otherwise, and for the calls no compiled signature takes while numba is
    not loaded, ``fallback``: a function of the same arguments and effects
    (a NumPy twin). Never imports numba, so a float run's start stays light
    (without a ``fallback``, a call no compiled signature takes goes to numba).

    Parameters
    ----------
    key : str
        The kernel's ``module.name`` (e.g. ``maps.im2col_kernel``).
    fallback : callable, optional
        The twin, called with the kernel's arguments.
    """

    def __init__(self, key: str, fallback: Callable | None = None) -> None:
        self.key = key
        self.fallback = fallback
        self._guards: dict[Any, Callable | None] = {}

    def kernel(self) -> Kernel:
        """The :class:`Kernel` (its module imported)."""
        import importlib

        importlib.import_module(_PKG + self.key.rsplit(".", 1)[0])
        return next(k for k in REGISTRY if k.key == self.key)

    def _miss(self, *args: Any) -> Any:
        if _state["numba"] is not None or self.fallback is None:
            return self.kernel().jit()(*args)
        return self.fallback(*args)

    def resolve(self) -> Callable | None:
        """The compiled kernel's guard where built, else numba's dispatcher
        once this process has loaded numba, else None."""
        path = _compiled.loaded_path()
        if path not in self._guards:
            miss = self._miss
            g = _compiled.compiled_or(self.kernel(), miss)
            self._guards[path] = None if g is miss else g
        call = self._guards[path]
        if call is None and _state["numba"] is not None:
            call = self.kernel().jit()
        return call

    def __call__(self, *args: Any) -> Any:
        return (self.resolve() or self.fallback)(*args)
