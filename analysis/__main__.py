"""``python -m analysis PATH --out DIR [--seed N] [--n-boot B]``.

PATH is an export folder (responses.csv, judges.csv, study.json) or a lone responses.csv.
"""

from __future__ import annotations

import argparse
import sys

from analysis.pipeline import analyze_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    parser.add_argument("path", help="export folder or responses.csv")
    parser.add_argument("--out", required=True, help="output folder for the report")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap/simulation seed")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates")
    args = parser.parse_args(argv)
    try:
        results = analyze_path(args.path, args.out, seed=args.seed, n_boot=args.n_boot)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for w in results.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {args.out}/report.html and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
