"""The documentation builds with warnings as errors (when MkDocs is installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_strict(tmp_path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    p = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    assert (tmp_path / "reference" / "api" / "index.html").is_file()


def test_paper_page_verdicts_match_the_committed_reports() -> None:
    import re

    page = (ROOT / "docs" / "paper.md").read_text()
    rows = re.findall(r"^\| `([\w-]+)`[^|]*\| (\d+) of (\d+) \|", page, flags=re.M)
    assert rows, "the verdict table of docs/paper.md"
    for name, held, total in rows:
        sub = "fashion-mnist/rules" if "Fashion-MNIST" in _row(page, name, held) else name
        md = (ROOT / "reports" / "paper" / sub / f"{Path(sub).name}.md").read_text()
        yes = len(re.findall(r"\| yes \|$", md, flags=re.M))
        no = len(re.findall(r"\| \*\*no\*\* \|$", md, flags=re.M))
        assert (int(held), int(total)) == (yes, yes + no), sub


def _row(page: str, name: str, held: str) -> str:
    return next(
        line for line in page.splitlines()
        if line.startswith(f"| `{name}`") and f"| {held} of " in line
    )  # fmt: skip
