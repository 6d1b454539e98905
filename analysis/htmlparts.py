"""Small HTML pieces shared by the report and its sections. Everything from the data is escaped."""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(x: Any) -> str:
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        if not np.isfinite(x):
            return "–"
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
            return f"{x:.2e}"
        return f"{x:.3f}".rstrip("0").rstrip(".") if abs(x) < 1000 else f"{x:.0f}"
    return str(x)


def table(frame: pd.DataFrame | None, max_rows: int = 400, label: str = "table") -> str:
    """A table inside its own horizontally scrolling, keyboard-focusable box."""
    if frame is None or len(frame) == 0:
        return "<p class='note'>(empty)</p>"
    f = frame.head(max_rows)
    head = "".join(f"<th scope='col'>{esc(c)}</th>" for c in f.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(fmt(v))}</td>" for v in row) + "</tr>"
        for row in f.itertuples(index=False)
    )
    more = (
        f"<p class='note'>{len(frame) - max_rows} more rows in the CSV.</p>"
        if len(frame) > max_rows
        else ""
    )
    return (
        f"<div class='scroll' tabindex='0' role='region' aria-label='{esc(label)}'>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}"
    )


def section(title: str, *parts: str, anchor: str = "") -> str:
    a = f" id='{esc(anchor)}'" if anchor else ""
    return f"<section{a}><h2>{esc(title)}</h2>" + "".join(parts) + "</section>"


def p(text: str, cls: str = "") -> str:
    c = f" class='{cls}'" if cls else ""
    return f"<p{c}>{esc(text)}</p>"


def not_estimable(title: str, why: str, anchor: str = "") -> str:
    return section(title, p(f"Not estimable: {why}", "note"), anchor=anchor)


_XML_HEAD = re.compile(r"^.*?(?=<svg)", re.S)


def img(data: bytes | None, alt: str) -> str:
    """A figure, inline as SVG when the figure has one (scales and prints sharply)."""
    if data is None:
        return p(f"({alt}: not enough data for this figure)", "note")
    svg = getattr(data, "svg", None)
    if svg:
        body = _XML_HEAD.sub("", svg, count=1)
        body = body.replace("<svg ", f"<svg role='img' aria-label='{esc(alt)}' ", 1)
        return f"<figure>{body}</figure>"
    import base64

    b64 = base64.b64encode(data).decode("ascii")
    return f"<figure><img alt='{esc(alt)}' src='data:image/png;base64,{b64}'></figure>"


def ci(est: float, lo: float, hi: float, pct: bool = True) -> str:
    """'52.0% [49.0, 54.0]'; an interval that could not be computed says so, never 'nan'."""
    if est is None or not np.isfinite(est):
        return "–"
    val = f"{100 * est:.1f}%" if pct else f"{est:.2f}"
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{val} [interval not estimable]"
    if pct:
        return f"{val} [{100 * lo:.1f}, {100 * hi:.1f}]"
    return f"{val} [{lo:.2f}, {hi:.2f}]"
