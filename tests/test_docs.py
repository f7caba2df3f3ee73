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
    rows = re.findall(
        r"^\| `([\w-]+)` \| (\d+ of \d+|—) \| (\d+ of \d+|—) \|", page, flags=re.M
    )
    assert len(rows) >= 15, "the verdict table of docs/paper.md"
    paper = ROOT / "reports" / "paper"
    for name, mnist, fashion in rows:
        fash = paper / "fashion-mnist" / name
        fdir = fash if fash.is_dir() else paper / name
        for verdict, d in ((mnist, paper / name), (fashion, fdir)):
            if verdict == "—":
                continue
            md = (d / f"{name}.md").read_text()
            yes = len(re.findall(r"\| yes \|$", md, flags=re.M))
            no = len(re.findall(r"\| \*\*no\*\* \|$", md, flags=re.M))
            assert verdict == f"{yes} of {yes + no}", (name, str(d))
