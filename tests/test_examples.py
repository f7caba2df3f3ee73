"""Every script of examples/ runs in its quick mode (digits, one epoch, tiny nets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ENV = {
    **os.environ,
    "OPENBLAS_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
}


def run_example(name: str, *args: str, cwd: Path) -> str:
    p = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--quick", *args],
        capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def test_every_example_is_tested() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == {
        "train_one_rule.py", "compare_rules.py", "sweep_error_bits.py", "plot_from_store.py"
    }  # fmt: skip


def test_train_one_rule(tmp_path) -> None:
    out = run_example("train_one_rule.py", "--rule", "rbp", cwd=tmp_path)
    assert "test accuracy" in out and "energy/sample" in out
    assert (tmp_path / "run.json").is_file()


def test_compare_rules(tmp_path) -> None:
    out = run_example("compare_rules.py", cwd=tmp_path)
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["rule", "test", "acc"]
    assert [ln.split()[0] for ln in lines[1:]] == ["bp", "rbp", "srbp", "sbp", "top-only"]


@pytest.mark.parametrize("store_first", [True, False])
def test_sweep_then_plot(tmp_path, store_first) -> None:
    if store_first:
        out = run_example("sweep_error_bits.py", "--store", "eb.db", cwd=tmp_path)
        assert out.startswith("6 points: 6 run")
    # without a store, the plot script's quick mode makes one by the sweep script
    out = run_example("plot_from_store.py", "eb.db", "-o", "fig.png", cwd=tmp_path)
    assert "figure fig.png (6 points)" in out
    assert (tmp_path / "fig.png").stat().st_size > 1000
