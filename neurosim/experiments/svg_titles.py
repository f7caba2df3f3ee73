"""Hover text for the report's scatter points: one SVG ``<title>`` per marker.

matplotlib writes a scatter collection whose ``gid`` is set as
``<g id="gid">`` holding one ``<use>`` element per point, in the order the
points were given. :func:`add_titles` wraps each of those ``<use>`` elements in
a ``<g>`` whose first child is a ``<title>`` (the SVG way to give an element a
tooltip: a browser shows it on hover, no script needed). The rest of the file
is kept as matplotlib wrote it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_G, _USE, _TITLE = f"{{{SVG_NS}}}g", f"{{{SVG_NS}}}use", f"{{{SVG_NS}}}title"


def add_titles(svg: str | Path, titles: Mapping[str, Sequence[str]]) -> int:
    """Give the markers of the groups named in ``titles`` a ``<title>`` each.

    Parameters
    ----------
    svg : str or Path
        An SVG file written by matplotlib; rewritten in place.
    titles : mapping
        ``gid -> one text per point``, in the order the points were drawn.

    Returns
    -------
    int
        The number of titles added.

    Raises
    ------
    ValueError
        A group holds a different number of markers than it has texts (the
        titles would name the wrong points).
    """
    if not titles:
        return 0
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    tree = ET.parse(svg)
    added = 0
    for group in tree.getroot().iter(_G):
        texts = titles.get(group.get("id", ""))
        if texts is None:
            continue
        # (parent, marker) pairs in document order
        markers = [(parent, use) for parent in group.iter() for use in parent if use.tag == _USE]
        if len(markers) != len(texts):
            raise ValueError(
                f"SVG group {group.get('id')!r} has {len(markers)} markers for {len(texts)} titles"
            )
        for (parent, use), text in zip(markers, texts, strict=True):
            i = list(parent).index(use)
            wrap = ET.Element(_G)
            title = ET.SubElement(wrap, _TITLE)
            title.text = text
            wrap.append(use)
            parent.remove(use)
            parent.insert(i, wrap)
            added += 1
    tree.write(svg, encoding="utf-8", xml_declaration=True)
    return added
