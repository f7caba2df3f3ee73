"""The ahead-of-time compiled kernels (neurosim.numerics.kernels.aot): guards
that accept exactly what numba would type as the compiled signature, and a
whole fixed run through them without numba, bit for bit the numba run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurosim.numerics.kernels import aot, imac
from neurosim.numerics.kernels._lazy import jit

ROOT = Path(__file__).resolve().parents[1]


@jit(cache=False)
def _weighted(a, b, s):
    # a small kernel of two arrays and a scalar, any dimensions
    return a.sum() * b.sum() * s


def _arrays() -> dict[str, np.ndarray]:
    """Arrays numba types differently: dtype, dimensions, layout, writability, alignment."""
    c = np.arange(12, dtype=np.float32).reshape(4, 3)
    ro = c.copy()
    ro.flags.writeable = False
    raw = np.zeros(4 * 12 + 1, dtype=np.uint8)[1:].view(np.float32).reshape(4, 3)
    return {
        "C": c,
        "F": np.asfortranarray(c),
        "A": c[:, ::2],
        "ro": ro,
        "f64": c.astype(np.float64),
        "i32": c.astype(np.int32),
        "1d": np.ones(4, dtype=np.float32),
        "unaligned": raw,
        "rows": c[::2],
    }


def test_every_guard_condition_agrees_with_numbas_typeof():
    """A guard built for one signature calls it exactly for the arguments
    numba would type as that signature (never the compiled code otherwise)."""
    import numba

    arrays = _arrays()
    b = np.ones(4, dtype=np.float32)
    specs = {name: aot.spec_of(numba.typeof(x)) for name, x in arrays.items()}
    assert specs["C"] == "A,float32,2,C,0,1" and specs["F"] == "A,float32,2,F,0,1"
    assert specs["A"] == "A,float32,2,A,0,1" and specs["ro"] == "A,float32,2,C,1,1"
    # numba types an unaligned array as an aligned one; the guard sends it to
    # numba all the same (the compiled code may assume alignment)
    assert specs["unaligned"] == specs["C"] and specs["rows"] == specs["A"]
    for name, spec in specs.items():
        calls = []

        def compiled(a, b, s, _calls=calls):
            _calls.append(a)
            return -1.0

        g = aot.make_guard(_weighted, [(compiled, [spec, "A,float32,1,C,0,1", "float64"])])
        for other, x in arrays.items():
            calls.clear()
            before = aot.misses().get(_weighted.key, 0)
            got = g(x, b, 2.0)
            if specs[other] == spec and x.flags.aligned:
                assert calls and got == -1.0, (spec, other)
            else:  # numba's dispatcher: the true value
                assert not calls and aot.misses()[_weighted.key] == before + 1, (spec, other)
                assert got == pytest.approx(float(x.sum()) * 4.0 * 2.0)
        calls.clear()
        g(arrays[name], b, 2)  # an int where the signature has float64: numba
        assert not calls
        g(arrays[name], b.astype(np.float64), 2.0)  # the second array's dtype
        assert not calls


def test_scalar_specs_follow_numba():
    import numba

    for value, spec in [(3, "int64"), (2.5, "float64"), (True, "bool"),
                        (np.uint64(7), "uint64"), (np.float32(1), "float32"),
                        (np.int64(3), "int64"), (None, "none")]:  # fmt: skip
        assert aot.spec_of(numba.typeof(value)) == spec
        assert isinstance(value, aot._SCALARS[spec]) if spec in aot._SCALARS else value is None


ARGS = ["--data", "digits", "--hidden", "16,16", "--rule", "srbp", "--error-bits", "4"]
FIELDS = {"data": "digits", "hidden": (16, 16), "rule": "srbp", "error_bits": 4}  # the same
RUN = ["train", "--mode", "fixed", "--epochs", "1", "--limit", "400", "--no-progress",
       "--json", "-", *ARGS]  # fmt: skip

PROBE = (
    "import contextlib, io, json, sys\n"
    "from neurosim.cli import main\n"
    "out = io.StringIO()\n"
    "with contextlib.redirect_stdout(out):\n"
    "    rc = main(sys.argv[1:])\n"
    "from neurosim.numerics.kernels import aot\n"
    "print(json.dumps({'rc': rc, 'numba': 'numba' in sys.modules, 'misses': aot.misses(),\n"
    "                  'aot': aot.loaded_path() is not None,\n"
    "                  'record': json.loads(out.getvalue())}))\n"
)


def _run(env: dict, code: str, *args: str) -> dict:
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       env=env, cwd=ROOT)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_a_fixed_run_through_the_compiled_kernels_is_the_numba_run(tmp_path):
    from neurosim.experiments.sweep import strip_wall_times

    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    sigs = tmp_path / "signatures.txt"
    if imac.cpu_supported():
        # the 8-bit MAC library first, as `kernels build` leaves it: the
        # recording sees the dtypes its products hand the kernels
        build = "from neurosim.numerics.kernels import imac\nimac.build()\n"
        p = subprocess.run([sys.executable, "-c", build], capture_output=True, text=True,
                           env=env, cwd=ROOT)  # fmt: skip
        assert p.returncode == 0, p.stderr[-3000:]
    record = (
        "from pathlib import Path\nfrom neurosim.numerics.kernels import aot\n"
        f"aot.record([{FIELDS!r}], path=Path({str(sigs)!r}))\n"
    )
    p = subprocess.run([sys.executable, "-c", record], capture_output=True, text=True,
                       env=env, cwd=ROOT)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    used = aot.read_signatures(sigs)
    assert used and set(used) <= set(aot.read_signatures()), "signatures.txt misses this run's"

    numba_run = _run(env, PROBE, *RUN)
    assert numba_run["numba"] and not numba_run["aot"]
    b = subprocess.run([sys.executable, "-m", "neurosim", "kernels", "build", "--signatures",
                        str(sigs)], capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert b.returncode == 0, b.stderr[-3000:]
    assert f"compiled {len(used)} kernel signatures" in b.stdout
    aot_run = _run(env, PROBE, *RUN)
    assert aot_run["aot"] and not aot_run["numba"] and aot_run["misses"] == {}
    assert strip_wall_times(aot_run["record"]) == strip_wall_times(numba_run["record"])
    # NEUROSIM_AOT=0: numba again, the same run
    off = _run({**env, "NEUROSIM_AOT": "0"}, PROBE, *RUN)
    assert off["numba"] and not off["aot"]
    assert strip_wall_times(off["record"]) == strip_wall_times(numba_run["record"])


def test_kernels_cli_errors_and_status(tmp_path):
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": path}

    def cli(*a: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "neurosim", "kernels", *a],
                              capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip

    p = cli("status")
    assert p.returncode == 0 and "none built" in p.stdout
    p = cli("build", "--signatures", str(tmp_path / "absent.txt"))
    assert p.returncode == 2 and "absent.txt" in p.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("forward.no_such_kernel int64\n")
    p = cli("build", "--signatures", str(bad))
    assert p.returncode == 2 and "unknown kernel 'forward.no_such_kernel'" in p.stderr
    assert not list((tmp_path / "neurosim" / "kernels").glob("_nsk_*.json"))
    p = cli("frobnicate")
    assert p.returncode == 2


def test_a_damaged_library_warns_and_numba_runs(tmp_path):
    """A manifest whose library does not load: a warning, then numba's kernels."""
    code = (
        "import json, os, warnings\n"
        "from neurosim.numerics.kernels import aot\n"
        "m = aot.manifest_path()\n"
        "m.parent.mkdir(parents=True)\n"
        "lib = m.with_name(m.stem + '.cpython-311-x86_64-linux-gnu.so')\n"
        "lib.write_bytes(b'not a library')\n"
        "m.write_text(json.dumps({'format': aot.FORMAT, 'module': m.stem, 'library': lib.name,\n"
        "                         'entries': [{'kernel': 'sparsity.nonzero', 'symbol': 'k0',\n"
        "                                      'args': ['A,float32,2,C,0,1']}]}))\n"
        "import numpy as np\n"
        "from neurosim.numerics.kernels import sparsity\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    n = sparsity.nonzero(np.eye(3, dtype=np.float32))\n"
        "assert n == 3, n\n"
        "assert any('do not load' in str(x.message) for x in w), [str(x.message) for x in w]\n"
        "assert aot.loaded_path() is None\n"
        "print('ok')\n"
    )
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": path}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=ROOT)  # fmt: skip
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]


def test_the_stamp_covers_every_kernel_module():
    """A build is stamped with the sources of the compiled code: every kernel
    module (a new one must join the list), and the files exist."""
    from neurosim.numerics.kernels import _compiled

    for m in aot.MODULES:
        assert f"kernels/{m}.py" in _compiled.SOURCES
    numerics = Path(_compiled.__file__).parent.parent
    assert all((numerics / name).is_file() for name in _compiled.SOURCES)


FLOAT_PROBE = (
    "import contextlib, io, json, sys\n"
    "from neurosim.cli import main\n"
    "out = io.StringIO()\n"
    "with contextlib.redirect_stdout(out):\n"
    "    rc = main(sys.argv[1:])\n"
    "from neurosim.config import TrainConfig\n"
    "from neurosim.cost.accounting import _tallies\n"
    "from neurosim.numerics.kernels import aot\n"
    "t = vars(_tallies(TrainConfig(mode='float')))\n"
    "print(json.dumps({'rc': rc, 'numba': 'numba' in sys.modules,\n"
    "                  'aot': aot.loaded_path() is not None,\n"
    "                  'compiled': sorted(k for k, f in t.items()\n"
    "                                     if hasattr(f, '__neurosim_kernel__')),\n"
    "                  'record': json.loads(out.getvalue())}))\n"
)


def test_a_float_run_counts_with_the_compiled_tallies_and_no_numba(tmp_path):
    """Where the compiled library holds the tally kernels, a float run's chip
    accounting calls them (they load without numba); a call they do not take
    goes to the NumPy twins, never to numba; the records are the NumPy run's."""
    from neurosim.experiments.sweep import strip_wall_times

    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    tallies = ("sparsity.input_tally", "sparsity.message_tally", "sparsity.nonzero")
    sigs = tmp_path / "signatures.txt"
    aot.write_signatures([p for p in aot.read_signatures() if p[0] in tallies], sigs)
    b = subprocess.run([sys.executable, "-m", "neurosim", "kernels", "build", "--signatures",
                        str(sigs)], capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert b.returncode == 0, b.stderr[-3000:]
    run = ["train", "--mode", "float", "--epochs", "1", "--limit", "400", "--no-progress",
           "--packets", "event", "--json", "-", *ARGS]  # fmt: skip
    compiled = _run(env, FLOAT_PROBE, *run)
    assert compiled["aot"] and not compiled["numba"]
    assert compiled["compiled"] == ["input_tally", "message_tally", "nonzero"]
    plain = _run({**env, "NEUROSIM_AOT": "0"}, FLOAT_PROBE, *run)
    assert not plain["aot"] and not plain["numba"] and plain["compiled"] == []
    assert strip_wall_times(compiled["record"]) == strip_wall_times(plain["record"])


def test_a_run_says_when_the_compiled_kernels_are_for_another_version(tmp_path):
    """Builds for other sources in the cache and none for these: the run
    works (numba) and says on stderr that `neurosim kernels build` is due;
    with no build at all, or NEUROSIM_AOT=0, it says nothing."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    run = [sys.executable, "-m", "neurosim", "train", "--data", "digits", "--hidden", "8",
           "--epochs", "1", "--limit", "200", "--mode", "fixed", "--no-progress"]  # fmt: skip

    def stderr(cache: Path, **extra: str) -> str:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": path, **extra}
        p = subprocess.run(run, capture_output=True, text=True, env=env, cwd=ROOT)
        assert p.returncode == 0, p.stderr[-2000:]
        return p.stderr

    stale = tmp_path / "stale"
    kdir = stale / "neurosim" / "kernels"
    kdir.mkdir(parents=True)
    (kdir / "_nsk_0123456789abcdef0123.json").write_text("{}")
    (kdir / "_nsimac_0123456789abcdef0123.so").write_bytes(b"")
    note = stderr(stale)
    assert "neurosim kernels build" in note and "another version" in note
    assert ("8-bit MAC library" in note) == imac.cpu_supported()
    assert "kernels build" not in stderr(tmp_path / "empty")
    assert "kernels build" not in stderr(stale, NEUROSIM_AOT="0")
