"""``python -m detectors``: score the texts of a JSONL file with machine detectors, no Django.

Input rows need ``text`` and may carry ``id``. Supervised detectors need ``--train``: a JSONL
file of ``text`` and ``label`` (1 = machine, 0 = human) on other articles. Output: one row per
text and detector (``id``, ``detector``, ``score``, ``skipped``, ``provenance``), JSONL, or CSV
when ``--out`` ends in ``.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

from .run import ALL_DETECTORS, DEFAULT_DETECTORS, TrainingSet, score_texts
from .zero_shot import ScoringSettings


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{number}: not JSON: {exc}") from exc
    return rows


def build_parser() -> argparse.ArgumentParser:
    s = ScoringSettings()
    p = argparse.ArgumentParser(prog="python -m detectors", description=__doc__.split("\n")[0])
    p.add_argument("--texts", type=Path, required=True, help="JSONL with 'text' (and 'id')")
    p.add_argument("--out", type=Path, required=True, help="output .jsonl or .csv")
    p.add_argument(
        "--detectors",
        default=",".join(DEFAULT_DETECTORS),
        help=f"comma-separated, of {', '.join(ALL_DETECTORS)}",
    )
    p.add_argument("--model", help="scoring model (registry name; default: registry default)")
    p.add_argument("--observer", help="Binoculars observer (default: found in the registry)")
    p.add_argument("--registry", help="registry file (default: $NEWSEVAL_MODEL_REGISTRY)")
    p.add_argument("--train", type=Path, help="JSONL with 'text' and 'label' for supervised")
    p.add_argument("--batch-size", type=int, default=s.batch_size)
    p.add_argument("--max-tokens", type=int, default=s.max_tokens)
    p.add_argument("--threads", type=int)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rows = _read_jsonl(args.texts)
    texts = [str(r["text"]) for r in rows]
    ids = [str(r.get("id", i)) for i, r in enumerate(rows)]
    training = None
    if args.train:
        train = _read_jsonl(args.train)
        training = TrainingSet(
            [str(r["text"]) for r in train],
            [int(r["label"]) for r in train],
            {"train_file": str(args.train)},
        )
    results = score_texts(
        texts,
        [d.strip() for d in args.detectors.split(",") if d.strip()],
        model=args.model,
        observer=args.observer,
        registry=args.registry,
        settings=ScoringSettings(batch_size=args.batch_size, max_tokens=args.max_tokens),
        training=training,
        threads=args.threads,
    )
    out_rows = [
        {
            "id": ids[i],
            "detector": r.detector,
            "score": None if math.isnan(score) else score,
            "skipped": r.skipped,
            "provenance": r.provenance,
        }
        for r in results
        for i, score in enumerate(r.scores)
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        if args.out.suffix == ".csv":
            writer = csv.DictWriter(handle, fieldnames=list(out_rows[0]) if out_rows else ["id"])
            writer.writeheader()
            for row in out_rows:
                writer.writerow({**row, "provenance": json.dumps(row["provenance"])})
        else:
            for row in out_rows:
                handle.write(json.dumps(row) + "\n")
    for r in results:
        note = f"skipped: {r.skipped}" if r.skipped else f"{r.provenance.get('seconds', 0):.2f} s"
        print(f"{r.detector}: {len(r.scores)} texts, {note}")
    return 0
