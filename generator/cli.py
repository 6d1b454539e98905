"""``python -m generator``: generate bodies for the titles in a JSONL file, without Django.

Input rows need ``id`` (or ``key``), ``title``, ``subtitle`` and ``body`` (the subtitle
sentence, if the body starts with it, is removed) or ``human_body``; an optional ``date`` feeds
the contamination summary. Output: one JSON line per title with the selection and every
candidate with its provenance.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .contamination import contamination_warnings
from .plan import plan_batches
from .prompts import PROMPT_FORMATS, ContextArticle, Target, choose_context
from .registry import default_model_name, get_model
from .settings import DecodingSettings, SelectionSettings
from .text import body_without_subtitle


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{number}: not JSON: {exc}") from exc
    return rows


def _key(row: dict[str, Any]) -> str:
    key = row.get("key", row.get("id"))
    if key is None:
        raise SystemExit(f"row without id/key: {str(row)[:80]}")
    return str(key)


def _target(row: dict[str, Any]) -> Target:
    human = row.get("human_body")
    if human is None:
        human = body_without_subtitle(row.get("body", ""), row.get("subtitle", ""))
    return Target(_key(row), row["title"], row["subtitle"], human)


def _context_article(row: dict[str, Any]) -> ContextArticle:
    return ContextArticle(_key(row), row["title"], row["subtitle"], row["body"])


def build_parser() -> argparse.ArgumentParser:
    d, s = DecodingSettings(), SelectionSettings()
    p = argparse.ArgumentParser(prog="python -m generator", description=__doc__.split("\n")[0])
    p.add_argument("--titles", type=Path, required=True, help="JSONL of target articles")
    p.add_argument("--out", type=Path, required=True, help="JSONL to write")
    p.add_argument("--model", help="registry name (default: the registry's default)")
    p.add_argument("--registry", type=Path, help="registry TOML (default: generator/models.toml)")
    p.add_argument("--context-file", type=Path, help="JSONL corpus to draw context articles from")
    p.add_argument("--context-articles", type=int, default=3, help="k context articles (0: none)")
    p.add_argument("--prompt-format", choices=PROMPT_FORMATS, default="plain")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--candidates", type=int, default=s.candidates)
    p.add_argument("--target-words", type=int, default=s.target_words)
    p.add_argument("--min-words-ratio", type=float, default=s.min_words_ratio)
    p.add_argument("--min-distinct-4gram", type=float, default=s.min_distinct_4gram)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--temperature", type=float, default=d.temperature)
    p.add_argument("--top-p", type=float, default=d.top_p)
    p.add_argument("--top-k", type=int, default=d.top_k)
    p.add_argument("--repetition-penalty", type=float, default=d.repetition_penalty)
    p.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens)
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--limit", type=int, help="only the first N titles")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from .backends import open_backend
    from .selection import select_candidate

    args = build_parser().parse_args(argv)
    rows = _read_jsonl(args.titles)[: args.limit]
    targets = [_target(r) for r in rows]
    by_key = {t.key: t for t in targets}
    if len(by_key) != len(targets):
        raise SystemExit("duplicate ids in --titles")
    context = _context(args, by_key.keys())
    decoding, selection = _settings(args)
    entry = get_model(args.model or default_model_name(args.registry), args.registry)
    backend = open_backend(entry, threads=args.threads, device=args.device)
    start = time.perf_counter()
    by_target = _generate(backend, args, targets, context, decoding, selection)
    failed = 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for target in targets:
            result = select_candidate(
                by_target[target.key], human_body=target.human_body, selection=selection
            )
            failed += result.chosen is None
            record = _output_record(target, result, selection)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    report = contamination_warnings({_key(r): r.get("date") for r in rows}, entry.training_cutoff)
    print(
        f"{len(targets)} titles, {failed} failed, {time.perf_counter() - start:.1f} s; "
        f"contamination: {report.summary}",
        file=sys.stderr,
    )
    return 0


def _context(args: argparse.Namespace, target_keys) -> list[ContextArticle]:
    """The few-shot context articles drawn from --context-file (none for k = 0)."""
    if not args.context_articles:
        return []
    if args.context_file is None:
        raise SystemExit("--context-articles needs --context-file (or pass --context-articles 0)")
    pool = [_context_article(r) for r in _read_jsonl(args.context_file)]
    return choose_context(pool, target_keys, args.context_articles, args.seed)


def _settings(args: argparse.Namespace) -> tuple[DecodingSettings, SelectionSettings]:
    decoding = DecodingSettings(
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        repetition_penalty=args.repetition_penalty,
        max_new_tokens=args.max_new_tokens,
    )
    selection = SelectionSettings(
        candidates=args.candidates,
        target_words=args.target_words,
        min_words_ratio=args.min_words_ratio,
        min_distinct_4gram=args.min_distinct_4gram,
    )
    return decoding, selection


def _generate(
    backend,
    args: argparse.Namespace,
    targets: list[Target],
    context: list[ContextArticle],
    decoding: DecodingSettings,
    selection: SelectionSettings,
) -> dict[str, list]:
    """Every target's candidates, batch by batch, with a progress bar."""
    from tqdm import tqdm

    from .run import run_batch

    by_key = {t.key: t for t in targets}
    batches = plan_batches(
        targets, candidates=selection.candidates, batch_size=args.batch_size, seed=args.seed
    )
    by_target: dict[str, list] = {t.key: [] for t in targets}
    bar = tqdm(total=sum(b.size for b in batches), unit="text", disable=args.no_progress)
    for batch in batches:
        for candidate in run_batch(
            backend,
            batch,
            targets_by_key=by_key,
            context=context,
            prompt_format=args.prompt_format,
            decoding=decoding,
        ):
            by_target[candidate.target_key].append(candidate)
        bar.update(batch.size)
    bar.close()
    return by_target


def _output_record(target: Target, result, selection: SelectionSettings) -> dict[str, Any]:
    """One output line: the selection's outcome and every candidate with its provenance."""
    return {
        "key": target.key,
        "title": target.title,
        "subtitle": target.subtitle,
        "status": "failed" if result.chosen is None else "ok",
        "failed_reason": result.failed_reason,
        "chosen_index": result.chosen.candidate_index if result.chosen else None,
        "machine_text": result.machine_text,
        "human_text": result.human_text,
        "max_words": result.max_words,
        "cut_mode": result.cut_mode,
        "rejections": {str(k): v for k, v in result.rejections.items()},
        "selection": selection.as_dict(),
        "candidates": [
            {
                "candidate_index": c.candidate_index,
                "text": c.text,
                "provenance": c.provenance,
            }
            for c in result.candidates
        ],
    }
