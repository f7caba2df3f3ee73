"""Start-up of a fresh process: imports and numba cache loading, median of fresh processes.

Every figure comes from a new Python process. One warm-up round first fills
the numba cache (a private ``NUMBA_CACHE_DIR`` unless ``--cache-dir`` is
given), so what is measured is the second start: numba loads each kernel a
run calls from its on-disk cache, once per type signature, on the kernel's
first call.

Per round, interleaved so a noisy neighbour hurts every row alike:

* ``baseline``: ``python -c "import numpy, numba"`` (the floor any numba
  program pays);
* ``baseline + 1 kernel``: the same and one call of a cached one-line
  ``@njit(cache=True)`` kernel (numba's first load initialises its target:
  type registries, LLVM -- paid once per process, whatever the kernel);
* ``import neurosim``: ``python -c "import neurosim"``;
* ``probe fixed`` / ``probe float``: a process that runs what ``neurosim
  train --data digits --hidden 16 --epochs 1`` runs, phase by phase (imports,
  data, plan and engine, the first training batch, a second one, the first
  evaluation) -- the first batch minus the second is what loading the
  kernels costs there;
* ``kernels fixed``: the same probe with every numba dispatcher's
  compile-or-load timed per kernel and signature (numba imported first);
* ``cli fixed`` / ``cli float``: the whole ``python -m neurosim train --data
  digits --hidden 16 --epochs 1 --mode {fixed,float}``;
* ``probe fixed aot`` / ``cli fixed aot``: the fixed probe and run again with
  the kernels compiled ahead of time (``neurosim kernels build``, done in the
  warm-up into a private cache): no numba in the process. Every other row
  runs with ``NEUROSIM_AOT=0``.

The table shows medians over ``--runs`` rounds (wall seconds of the process,
or of the phase inside it); "over baseline" subtracts the baseline median of
the same run.

    python benchmarks/bench_startup.py                 # 7 rounds
    python benchmarks/bench_startup.py --runs 3 --json startup.json
"""

# one thread per process, as the other benchmarks; set before numpy is imported
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RUN_ARGS = ["--data", "digits", "--hidden", "16", "--epochs", "1"]
# the floor of any process that calls one cached numba kernel: numba's first
# load initialises its target (registries, LLVM) whatever the kernel
ONE_KERNEL = (
    "import numpy, numba\n"
    "@numba.njit(cache=True)\n"
    "def one(a):\n"
    "    return a.sum()\n"
    "one(numpy.zeros(3))"
)
HEAVY = ("scipy", "sklearn", "pandas", "matplotlib", "tqdm", "sqlite3", "numba", "optuna")


# --------------------------------------------------------------------------- #
# the probe (runs inside a fresh process)
# --------------------------------------------------------------------------- #


class KernelTimer:
    """Time every numba dispatcher's compile-or-load, exclusive of nested ones."""

    def __init__(self) -> None:
        from numba.core.dispatcher import Dispatcher

        self.rows: list[tuple[str, str, float]] = []
        self._stack: list[float] = []
        original = Dispatcher.compile
        timer = self

        def compile(disp, sig):  # noqa: ANN001 - numba's own signature
            t0 = time.perf_counter()
            timer._stack.append(0.0)
            try:
                return original(disp, sig)
            finally:
                inner = timer._stack.pop()
                dt = time.perf_counter() - t0
                if timer._stack:
                    timer._stack[-1] += dt
                name = f"{disp.py_func.__module__.rsplit('.', 1)[-1]}.{disp.py_func.__name__}"
                timer.rows.append((name, str(sig), dt - inner))

        Dispatcher.compile = compile


def probe(mode: str, kernels: bool) -> dict:
    """Run the steps of ``neurosim train`` one by one and time each."""
    t = {}
    t0 = time.perf_counter()
    timer = KernelTimer() if kernels else None
    t["numba import (kernels only)"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    from neurosim.config import TrainConfig
    from neurosim.cost.factory import make_accountant
    from neurosim.experiments.train import _training_data, evaluate_all, run_chip, targets
    from neurosim.nn.factory import make_engine
    from neurosim.plan import make_plan

    t["imports"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cfg = TrainConfig(mode=mode, data="digits", hidden=(16,), epochs=1).validate()
    chip = run_chip(cfg)
    ds = _training_data(cfg, None)
    t["config, chip, data"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    plan = make_plan(cfg, ds.n_features, ds.n_classes, ds.image_shape, chip)
    engine = make_engine(plan)
    engine.accountant = make_accountant(plan)
    engine.start_epoch(0)
    t["plan, engine"] = time.perf_counter() - t0

    b = cfg.batch
    for k, lo in (("first batch", 0), ("second batch", b)):
        x, y = ds.x_train[lo : lo + b], ds.y_train[lo : lo + b]
        t0 = time.perf_counter()
        engine.train_batch(x, targets(y, ds.n_classes))
        t[k] = time.perf_counter() - t0
    for k in ("first evaluation", "second evaluation"):
        t0 = time.perf_counter()
        evaluate_all(engine, ds.x_test, ds.y_test, False)
        t[k] = time.perf_counter() - t0
    out = {"phases": t, "heavy_modules": sorted(m for m in HEAVY if m in sys.modules)}
    if timer is not None:
        out["kernels"] = timer.rows
    return out


# --------------------------------------------------------------------------- #
# the driver
# --------------------------------------------------------------------------- #


def env_for(cache_dir: str, aot: bool = False) -> dict:
    env = dict(os.environ)
    # an installed package keeps its bytecode: compiling every module's source
    # again (~0.1 s a process) would time the machine's PYTHONDONTWRITEBYTECODE
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NUMBA_CACHE_DIR"] = cache_dir
    env["XDG_CACHE_HOME"] = str(Path(cache_dir) / "xdg")  # the compiled kernels, the data
    env["NEUROSIM_AOT"] = "1" if aot else "0"
    return env


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    """Wall seconds of one fresh process and its stdout."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return dt, p.stdout


def commands(cache_dir: str) -> dict[str, list[str]]:
    py = sys.executable
    one = Path(cache_dir) / "one_kernel.py"  # numba caches only functions in files
    one.write_text(ONE_KERNEL + "\n")
    me = [py, str(Path(__file__).resolve()), "--probe"]
    return {
        "baseline": [py, "-c", "import numpy, numba"],
        "baseline + 1 kernel": [py, str(one)],
        "import neurosim": [py, "-c", "import neurosim"],
        "probe fixed": [*me, "fixed"],
        "probe float": [*me, "float"],
        "kernels fixed": [*me, "fixed", "--kernels"],
        "cli fixed": [py, "-m", "neurosim", "train", *RUN_ARGS, "--mode", "fixed"],
        "cli float": [py, "-m", "neurosim", "train", *RUN_ARGS, "--mode", "float"],
        "probe fixed aot": [*me, "fixed"],
        "cli fixed aot": [py, "-m", "neurosim", "train", *RUN_ARGS, "--mode", "fixed"],
    }


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def measure(runs: int, cache_dir: str) -> dict:
    env = env_for(cache_dir)
    env_aot = env_for(cache_dir, aot=True)
    cmds = commands(cache_dir)
    for name in (
        "baseline + 1 kernel",
        "cli fixed",
        "cli float",
        "kernels fixed",
    ):  # warm-up: fill the cache
        timed(cmds[name], env)
    timed([sys.executable, "-m", "neurosim", "kernels", "build"], env_aot)
    wall: dict[str, list[float]] = {k: [] for k in cmds}
    phases: dict[str, dict[str, list[float]]] = {}
    kernels: dict[tuple[str, str], list[float]] = {}
    heavy: dict[str, list[str]] = {}
    for _ in range(runs):
        for name, cmd in cmds.items():
            dt, out = timed(cmd, env_aot if name.endswith(" aot") else env)
            wall[name].append(dt)
            if name.startswith(("probe", "kernels")):
                rec = json.loads(out.strip().splitlines()[-1])
                for k, v in rec["phases"].items():
                    phases.setdefault(name, {}).setdefault(k, []).append(v)
                heavy[name] = rec["heavy_modules"]
                totals: dict[tuple[str, str], float] = {}
                for kname, sig, sec in rec.get("kernels", []):
                    totals[kname, sig] = totals.get((kname, sig), 0.0) + sec
                for key, sec in totals.items():
                    kernels.setdefault(key, []).append(sec)
    return {"wall": wall, "phases": phases, "kernels": kernels, "heavy": heavy}


def report(m: dict, runs: int) -> dict:
    wall = {k: median(v) for k, v in m["wall"].items()}
    base = wall["baseline"]
    print(f"fresh processes, median of {runs} rounds (seconds); warm numba cache")
    print(f"{'process':<18} {'wall':>7} {'over baseline':>14}")
    for k, v in wall.items():
        print(f"{k:<18} {v:7.3f} {v - base:14.3f}")
    phases = {n: {k: median(v) for k, v in ph.items()} for n, ph in m["phases"].items()}
    for name, ph in phases.items():
        print(f"\n{name} phases (heavy modules loaded: {', '.join(m['heavy'][name]) or 'none'})")
        for k, v in ph.items():
            print(f"  {k:<28} {v:7.3f}")
        extra = ph["first batch"] - ph["second batch"]
        extra += ph["first evaluation"] - ph["second evaluation"]
        print(f"  {'first calls over steady':<28} {extra:7.3f}")
    rows = sorted(((median(v), k) for k, v in m["kernels"].items()), reverse=True)
    total = sum(v for v, _ in rows)
    print(f"\nkernels fixed: {len(rows)} dispatcher signatures loaded, {total:.3f} s in all")
    for v, (name, sig) in rows:
        print(f"  {v:7.4f}  {name}{sig}"[:110])
    return {
        "runs": runs,
        "wall_median": wall,
        "phases_median": phases,
        "kernel_load_total": total,
        "kernels_median": [[name, sig, v] for v, (name, sig) in rows],
        "heavy_modules": m["heavy"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="rounds of fresh processes")
    ap.add_argument("--cache-dir", help="numba cache to use (default: a fresh temporary one)")
    ap.add_argument("--json", help="write the medians here")
    ap.add_argument("--probe", choices=("fixed", "float"), help=argparse.SUPPRESS)
    ap.add_argument("--kernels", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.kernels)))
        return 0
    if args.cache_dir:
        result = report(measure(args.runs, args.cache_dir), args.runs)
    else:
        with tempfile.TemporaryDirectory(prefix="neurosim-numba-") as cache:
            result = report(measure(args.runs, cache), args.runs)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
