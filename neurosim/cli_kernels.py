"""``neurosim kernels``: build, inspect or clear the ahead-of-time compiled kernels.

See :mod:`neurosim.numerics.kernels.aot`. Kept apart from :mod:`neurosim.cli`
so that module stays the runs' front end.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Add ``neurosim kernels {build,status,clear,record}``."""
    k = sub.add_parser(
        "kernels",
        help="compile the chip's kernels ahead of time (fixed runs then start without numba)",
        description="Compile the fixed-point kernels for this machine into a shared library "
        "in ~/.cache/neurosim/kernels: a fixed run then starts in a fraction of a second "
        "instead of loading numba (same source, same bits). NEUROSIM_AOT=0 ignores it.",
    )
    k.add_argument("action", choices=("build", "status", "clear", "record"),
                   help="build: compile the signature list (about 10 s); status: what a run "
                   "would use; clear: delete every build; record: rewrite the signature list "
                   "from short runs of the README's options (about a minute)")  # fmt: skip
    k.add_argument("--signatures", metavar="FILE",
                   help="signature list to build from or record into (default: the one "
                   "shipped with neurosim)")  # fmt: skip


def cmd_kernels(args: argparse.Namespace) -> int:
    """Run one ``neurosim kernels`` action; 1 when a build fails."""
    from pathlib import Path

    from neurosim.numerics.kernels import aot

    path = Path(args.signatures) if args.signatures else aot.SIGNATURES
    if args.action == "record":
        pairs = aot.record(path=path)
        print(f"wrote {len(pairs)} kernel signatures to {path}")
        return 0
    if args.action == "clear":
        print(f"removed {aot.clear()} files from {aot.cache_dir()}")
        return 0
    if args.action == "build":
        if not path.is_file():
            print(f"neurosim: error: --signatures: no such file: {path}", file=sys.stderr)
            return 2
        try:
            aot.build(aot.read_signatures(path), log=print)
        except ValueError as e:
            print(f"neurosim: error: {path}: {e}", file=sys.stderr)
            return 2
        except Exception as e:  # noqa: BLE001 -- a compiler or toolchain failure, reported
            print(f"neurosim: error: the kernels did not compile ({type(e).__name__}: {e}); "
                  "runs keep using numba", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    st = aot.status()
    print(f"compiled kernels  {'used' if st['enabled'] else 'ignored (NEUROSIM_AOT=0)'}")
    print(f"cache             {st['cache']}")
    if st["current"]:
        print(f"this machine      {st['signatures']} signatures: {st['manifest']}")
    else:
        print("this machine      none built for these sources and this installation "
              "(neurosim kernels build)")  # fmt: skip
    print(f"8-bit MAC (VNNI)  {st['imac']}")
    if st["stale"]:
        print(f"other builds      {len(st['stale'])} (older sources or another setup; "
              "neurosim kernels clear removes them)")  # fmt: skip
    return 0
