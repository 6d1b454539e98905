"""Writes the reference tables of ``docs/spec.md`` from the spec's schema.

The file's prose is written by hand; each table sits between markers naming its sections::

    <!-- spec-schema: articles -->
    ...generated...
    <!-- /spec-schema -->

``python -m studies.spec_doc`` rewrites the tables in place; ``--check`` only says whether
they are out of step with ``studies.spec_schema`` (exit status 1), as the tests do.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from studies.spec_schema import BY_NAME, Field, Section

DOC = Path(__file__).resolve().parents[1] / "docs" / "spec.md"
BLOCK = re.compile(r"(<!-- spec-schema: ([\w ]+) -->\n)(.*?)(<!-- /spec-schema -->)", re.DOTALL)
TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "true or false",
    "choice": "one of",
    "list": "list of strings",
    "date": "date",
    "positions": "list of integers",
    "model": "registry model",
    "version": "string",
}


def _number(value: float) -> str:
    if isinstance(value, int) and value >= 10**12:  # 2^62 reads better than 19 digits
        for base in (2, 10):
            power = round(math.log(value, base))
            if base**power == value:
                return f"{base}^{power}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _default(f: Field) -> str:
    if f.required:
        return "required"
    if f.default is None:
        return f.default_doc or "none"
    return f"`{_toml(f.default)}`"


def _allowed(f: Field) -> str:
    if f.choices:
        return ", ".join(f"`{c}`" for c in f.choices)
    if f.kind in ("int", "positions"):
        return f"{_number(f.lo)} to {_number(f.hi)}"  # type: ignore[arg-type]
    if f.kind == "float":
        return f"{'(' if f.lo_open else '['}{f.lo}, {f.hi}]"
    if f.url:
        return "empty, or a URL starting with http:// or https://"
    if f.max_chars:
        return f"at most {_number(f.max_chars)} characters"
    if f.kind == "date":
        return "like 2020-01-31"
    if f.kind == "model":
        return "a name in the model registry" + ("" if f.required else ", or empty")
    return ""


def _meaning(f: Field) -> str:
    text = " ".join(part for part in (f.help, f.more) if part)
    if not f.form:
        text += (
            " Not in the dashboard's form: set it in the spec file (an edit in the form keeps it)."
        )
    return text.replace("|", "\\|")


def table(sections: Iterable[Section]) -> str:
    """The Markdown table of ``sections``' keys (named ``section.key`` when there are several)."""
    sections = list(sections)
    lines = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for section in sections:
        for f in section.fields:
            key = f"{section.name}.{f.key}" if len(sections) > 1 else f.key
            cells = (f"`{key}`", TYPES[f.kind], _default(f), _allowed(f), _meaning(f))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render(text: str, schema: Mapping[str, Section] = BY_NAME) -> str:
    """``text`` with every marked table written anew from ``schema``."""

    def block(m: re.Match) -> str:
        names = ["" if n == "top" else n for n in m[2].split()]
        unknown = [n for n in names if n not in schema]
        if unknown:
            raise ValueError(f"docs: no spec section {unknown} (the top level is 'top')")
        return m[1] + table(schema[n] for n in names) + m[4]

    return BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DOC)
    parser.add_argument("--check", action="store_true", help="exit 1 if the tables are stale")
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    new = render(text)
    if args.check:
        if new != text:
            print(
                f"{args.path} is out of step with studies/spec_schema.py: run "
                "python -m studies.spec_doc",
                file=sys.stderr,
            )
            return 1
        return 0
    args.path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
