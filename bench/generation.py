"""Throughput of the generator's decoding loop against transformers' ``generate()``.

Same model (SmolLM2-135M-Instruct, the default registry entry), same prompts (real articles
from the shared corpus, with the study-style few-shot context), same batch size, greedy
decoding, one run each, in one process. Prints tokens per second for both and their ratio.

    .venv/bin/python bench/generation.py                      # batch 16, 3 context articles
    .venv/bin/python bench/generation.py --context-articles 0 --batch-size 8
    .venv/bin/python bench/generation.py --dtype bfloat16 --perplexity
    .venv/bin/python bench/generation.py --device cuda --model gemma3-270m --batch-size 64

``--dtype auto`` (the default, as in the registry) computes in bfloat16 on a GPU or on a CPU with
AVX512-BF16/AMX and in float32 otherwise; the first line printed says which.

On a shared machine, wall-clock rates swing with other load; the tokens per CPU-second of
the process (exact with ``--threads 1``) are the steadier comparison.

Tokens counted: new tokens per row up to and including end-of-text (both sides alike).
Wall time includes prefill (for the loop: the shared context once, then each batch's suffixes;
for ``generate()``: every full prompt). ``--perplexity`` compares the perplexity of 20 corpus
articles under fp32 and under ``--dtype``: a faster number type only counts within 2%.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"

CORPUS = Path(
    os.environ.get("NEWSEVAL_CORPUS", ROOT.parent / "shared" / "data" / "news" / "articles.jsonl")
)


def load_corpus():
    with CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def count_new(tokens, eos_ids, limit):
    for i, t in enumerate(tokens[:limit]):
        if t in eos_ids:
            return i + 1
    return min(len(tokens), limit)


def perplexity(model, tokenizer, texts):
    import torch

    total_nll, total_tokens = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt", add_special_tokens=True)["input_ids"][
                :, :512
            ].to(model.device)
            logits = model(input_ids=ids).logits.float()
            nll = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:], reduction="sum")
            total_nll += float(nll)
            total_tokens += ids.shape[1] - 1
    return math.exp(total_nll / total_tokens)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--context-articles", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"]
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1...")
    parser.add_argument("--model", default="smollm2-135m", help="a transformers registry entry")
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--perplexity", action="store_true")
    args = parser.parse_args()

    import torch
    import transformers

    from generator import (
        ContextArticle,
        DecodingSettings,
        Target,
        body_without_subtitle,
        build_prompt,
        choose_context,
        get_model,
        open_backend,
    )
    from generator.registry import cpu_has_fast_bfloat16

    corpus = load_corpus()
    rows = corpus[100 : 100 + args.batch_size]
    targets = [
        Target(r["id"], r["title"], r["subtitle"], body_without_subtitle(r["body"], r["subtitle"]))
        for r in rows
    ]
    pool = [ContextArticle(r["id"], r["title"], r["subtitle"], r["body"]) for r in corpus]
    context = choose_context(pool, {t.key for t in targets}, args.context_articles, seed=1)
    entry = dataclasses.replace(get_model(args.model), dtype=args.dtype)
    t0 = time.perf_counter()
    backend = open_backend(entry, threads=args.threads, device=args.device)
    print(
        f"model {entry.name} on {backend.device}, dtype {backend.dtype} "
        f"(asked: {args.dtype}; native bfloat16 on this CPU: {cpu_has_fast_bfloat16()}) "
        f"loaded in {time.perf_counter() - t0:.1f} s; "
        f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"threads {torch.get_num_threads()}"
    )
    prompts = [build_prompt(t, context, "plain") for t in targets]
    encoded = [backend.encode(p) for p in prompts]
    n = args.max_new_tokens
    greedy = DecodingSettings(temperature=0, max_new_tokens=n, stop_at_next_article=False)
    eos = set(backend.eos_ids)
    suffixes = [s for _, s in encoded]
    print(
        f"batch {len(targets)}, context {args.context_articles} articles = {len(encoded[0][0])} "
        f"prefix tokens, suffixes {min(map(len, suffixes))}-{max(map(len, suffixes))} "
        f"tokens, max_new_tokens {n}, greedy"
    )

    backend._prefixes.clear()  # the loop pays for its prefill like generate() does
    start, cpu = time.perf_counter(), time.process_time()
    completions = backend.complete(prompts, [0] * len(prompts), greedy)
    loop_s, loop_cpu = time.perf_counter() - start, time.process_time() - cpu
    loop_tokens = sum(count_new(c.extra["token_ids"], eos, n) for c in completions)
    prefill_s = completions[0].extra["prefix_seconds"]
    loop_rate = loop_tokens / loop_s
    print(
        f"loop:       {loop_tokens} tokens in {loop_s:.1f} s = {loop_rate:.1f} tokens/s "
        f"(shared prefix prefill {prefill_s:.1f} s); per CPU-second: {loop_tokens / loop_cpu:.1f}"
    )

    if not args.skip_generate:
        full = [p + s for p, s in encoded]
        width = max(map(len, full))
        ids = torch.full((len(full), width), backend.pad_id)
        mask = torch.zeros((len(full), width), dtype=torch.long)
        for i, row in enumerate(full):
            ids[i, width - len(row) :] = torch.tensor(row)
            mask[i, width - len(row) :] = 1
        start, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            out = backend.model.generate(
                input_ids=ids.to(backend.device),
                attention_mask=mask.to(backend.device),
                do_sample=False,
                max_new_tokens=n,
                pad_token_id=backend.pad_id,
            )
        gen_s, gen_cpu = time.perf_counter() - start, time.process_time() - cpu
        if backend.device.startswith("cuda"):
            torch.cuda.synchronize()
        gen_rows = out[:, width:].cpu().tolist()
        gen_tokens = sum(count_new(r, eos, n) for r in gen_rows)
        gen_rate = gen_tokens / gen_s
        same = sum(
            list(c.extra["token_ids"]) == r[: len(c.extra["token_ids"])]
            for c, r in zip(completions, gen_rows, strict=True)
        )
        print(
            f"generate(): {gen_tokens} tokens in {gen_s:.1f} s = {gen_rate:.1f} tokens/s; "
            f"per CPU-second: {gen_tokens / gen_cpu:.1f}"
        )
        print(
            f"TABLE|our loop|{entry.name} {backend.dtype}|batch {len(targets)}|"
            f"{loop_rate:.1f} tokens/s|generate() {gen_rate:.1f} tokens/s"
        )
        print(
            f"ratio loop/generate() = {loop_rate / gen_rate:.2f} (wall), "
            f"{(loop_tokens / loop_cpu) / (gen_tokens / gen_cpu):.2f} (CPU time); "
            f"identical greedy rows: {same}/{len(gen_rows)}"
        )

    if args.perplexity and backend.dtype != "float32":
        texts = [
            f"Title: {r['title']}\nSubtitle: {r['subtitle']}\nArticle: {r['body']}"
            for r in corpus[200:220]
        ]
        reference = open_backend(
            dataclasses.replace(entry, dtype="float32"), threads=args.threads, device=args.device
        )
        p32 = perplexity(reference.model, reference.tokenizer, texts)
        plow = perplexity(backend.model, backend.tokenizer, texts)
        change = plow / p32 - 1
        verdict = "within" if abs(change) <= 0.02 else "NOT within"
        print(
            f"perplexity on 20 corpus articles: fp32 {p32:.3f}, {backend.dtype} {plow:.3f} "
            f"({change:+.2%}, {verdict} 2%)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
