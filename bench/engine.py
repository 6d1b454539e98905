"""Texts per second through the ``openai`` backend against a real server, one request at a time
against ``concurrency`` requests in flight, measured in the same run.

A small study's work: the first ``--articles`` articles of the shared corpus (with one context
article), ``--candidates`` candidates each, ``--max-new-tokens`` new tokens, sampled with the
study defaults, all units in one batch (so up to ``concurrency`` requests are in flight). Each
setting runs the same plan with the same seeds.

    .venv/bin/python bench/engine.py                  # starts vLLM's CPU build (bin/setup-engine)
    .venv/bin/python bench/engine.py --url http://gpu-host:8000/v1 --model NAME --concurrency 1 32

Prints the engine, its version (the server's ``system_fingerprint``), texts/s and tokens/s for
each concurrency, and the ratio to the first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = Path(
    os.environ.get("NEWSEVAL_CORPUS", ROOT.parent / "shared" / "data" / "news" / "articles.jsonl")
)


def load_corpus() -> list[dict]:
    with CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="an OpenAI-compatible server (default: start vLLM here)")
    parser.add_argument("--model", default="smollm2-135m", help="the server's model name")
    parser.add_argument("--articles", type=int, default=16)
    parser.add_argument(
        "--offset", type=int, default=100, help="first corpus row (as bench/generation.py)"
    )
    parser.add_argument("--context-articles", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=1.0, help="0: greedy")
    parser.add_argument("--candidates", type=int, default=1)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--format", default="plain", choices=["plain", "chat"])
    args = parser.parse_args()

    from generator import (
        ContextArticle,
        DecodingSettings,
        Target,
        body_without_subtitle,
        choose_context,
        plan_batches,
        run_batch,
    )
    from generator.backends.openai import OpenAIBackend
    from generator.registry import parse_registry

    # The prompts of bench/generation.py: corpus rows from --offset, context chosen with seed 1.
    corpus = load_corpus()
    rows = corpus[args.offset : args.offset + args.articles]
    targets = {
        r["id"]: Target(
            r["id"], r["title"], r["subtitle"], body_without_subtitle(r["body"], r["subtitle"])
        )
        for r in rows
    }
    pool = [ContextArticle(r["id"], r["title"], r["subtitle"], r["body"]) for r in corpus]
    context = choose_context(pool, set(targets), args.context_articles, seed=1)
    units = len(targets) * args.candidates
    batch = plan_batches(targets.values(), candidates=args.candidates, batch_size=units, seed=1)[0]
    decoding = DecodingSettings(temperature=args.temperature, max_new_tokens=args.max_new_tokens)

    server = None
    url = args.url
    if url is None:
        from generator.engines import VLLMServer, engine_version, setup_engine

        setup_engine()
        server = VLLMServer(scratch=Path(tempfile.mkdtemp(prefix="newseval-engine-")))
        seconds = server.start()
        url = server.url
        print(f"vLLM {engine_version()} (CPU build) ready in {seconds:.0f} s at {url}")
    try:
        # Warm-up: one request, not counted.
        warm = OpenAIBackend(
            parse_registry(
                f'[models.b]\nbackend = "openai"\nurl = "{url}"\nmodel = "{args.model}"\n'
            )["b"]
        )
        first = plan_batches(list(targets)[:1], candidates=1, batch_size=1, seed=99)[0]
        out = run_batch(
            warm,
            first,
            targets_by_key=targets,
            context=context,
            prompt_format=args.format,
            decoding=DecodingSettings(max_new_tokens=8),
        )
        warm.close()
        print(
            f"server model {out[0].provenance['server_model']}, "
            f"fingerprint {out[0].provenance.get('system_fingerprint')}; "
            f"{len(targets)} articles x {args.candidates} candidates, "
            f"max_new_tokens {args.max_new_tokens}, {args.format} prompts, "
            f"temperature {decoding.temperature}"
        )
        rates = []
        for concurrency in args.concurrency:
            entry = parse_registry(
                f'[models.b]\nbackend = "openai"\nurl = "{url}"\nmodel = "{args.model}"\n'
                f"concurrency = {concurrency}\n"
            )["b"]
            backend = OpenAIBackend(entry, timeout=600)
            start = time.perf_counter()
            cands = run_batch(
                backend,
                batch,
                targets_by_key=targets,
                context=context,
                prompt_format=args.format,
                decoding=decoding,
            )
            seconds = time.perf_counter() - start
            backend.close()
            tokens = sum(int(c.provenance.get("new_tokens") or 0) for c in cands)
            rate = len(cands) / seconds
            rates.append(rate)
            fingerprint = cands[0].provenance.get("system_fingerprint")
            print(
                f"TABLE|engine {fingerprint}|{args.model}|concurrency {concurrency}|"
                f"{tokens / seconds:.1f} tokens/s|{rate:.3f} texts/s"
            )
            print(
                f"concurrency {concurrency:>3}: {len(cands)} texts in {seconds:6.1f} s = "
                f"{rate:.3f} texts/s, {tokens / seconds:6.1f} tokens/s, "
                f"x{rate / rates[0]:.2f} vs concurrency {args.concurrency[0]}"
            )
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
