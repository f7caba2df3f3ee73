"""MkDocs hook: render the Sphinx roles of the numpydoc docstrings as code.

The docstrings cross-reference with ``:class:`~pkg.mod.Name```, which the
Python handler passes through as text; this shows ``Name`` (or the full path
without ``~``) in code type instead of the raw role.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|obj|exc):<code>(~?)([\w.]+)</code>")


def _code(m: re.Match[str]) -> str:
    name = m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2)
    return f"<code>{name}</code>"


def on_page_content(html: str, **kwargs: object) -> str:
    """Replace every rendered role by its target in code type."""
    return _ROLE.sub(_code, html)
