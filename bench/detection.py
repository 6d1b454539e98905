"""Throughput of the zero-shot detectors against a plain transformers forward pass, and the
detectors' AUCs on SmolLM2 texts for shared-corpus articles.

Throughput: the same texts (shared-corpus bodies cut to ``--words`` words), the same model
(the default registry entry, loaded once), in one process: our scoring (one batched pass
computing log-likelihood, log-rank, entropy and Fast-DetectGPT together) against a plain
``model(input_ids)`` per text that computes nothing beyond the logits. Prints texts per
second for both and their ratio.

    .venv/bin/python bench/detection.py                    # 32 texts of 200 words
    .venv/bin/python bench/detection.py --auc 24           # also generate 24 SmolLM2 texts

``--auc N`` generates machine bodies for N corpus articles with the default study settings
(plain prompt, one context article, temperature 0.8, top-p 0.95, cut like a study's texts),
scores them with the human bodies, and prints each detector's AUC with a 95% interval from
2,000 article resamples.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"

CORPUS = Path(
    os.environ.get("NEWSEVAL_CORPUS")
    or os.environ.get("NEWSEVAL_DEFAULT_CORPUS")
    or ROOT.parent / "shared" / "data" / "news" / "articles.jsonl"
)


def load_corpus():
    with CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def throughput(backend, texts, batch_size: int, max_tokens: int) -> None:
    import torch

    from detectors.zero_shot import ZERO_SHOT, ScoringSettings, score_zero_shot

    settings = ScoringSettings(batch_size=batch_size, max_tokens=max_tokens)
    score_zero_shot(backend, texts[:2], ZERO_SHOT, settings=settings)  # warm-up
    start = time.perf_counter()
    score_zero_shot(backend, texts, ZERO_SHOT, settings=settings)
    ours = time.perf_counter() - start
    tok = backend.tokenizer
    start = time.perf_counter()
    with torch.inference_mode():
        for text in texts:
            ids = tok(text, return_tensors="pt")["input_ids"][:, :max_tokens]
            backend.model(input_ids=ids.to(backend.device), use_cache=False)
    plain = time.perf_counter() - start
    n = len(texts)
    print(
        f"detectors (4 zero-shot, batch {batch_size}): {n / ours:.2f} texts/s; "
        f"plain forward pass (one text at a time): {n / plain:.2f} texts/s; "
        f"ratio {plain / ours:.2f}x"
    )


def aucs(backend, corpus, n: int, words: int, seed: int) -> None:
    import numpy as np

    import generator
    from analysis.detection import auc
    from detectors.zero_shot import ZERO_SHOT, score_zero_shot

    rng = np.random.default_rng(seed)
    rows = [r for r in corpus if len(r["body"].split()) >= words]
    picked = [rows[i] for i in rng.choice(len(rows), size=n + 1, replace=False)]
    ctx_row, targets_rows = picked[0], picked[1:]
    targets = [
        generator.Target(
            r["id"],
            r["title"],
            r["subtitle"],
            generator.body_without_subtitle(r["body"], r["subtitle"]),
        )
        for r in targets_rows
    ]
    context = [
        generator.ContextArticle(
            ctx_row["id"], ctx_row["title"], ctx_row["subtitle"], ctx_row["body"]
        )
    ]
    decoding = generator.DecodingSettings(
        temperature=0.8, top_p=0.95, max_new_tokens=int(words * 1.6)
    )
    selection = generator.SelectionSettings(candidates=1, target_words=words, min_words_ratio=0.3)
    plan = generator.plan_batches(targets, candidates=1, batch_size=8, seed=seed)
    by_key = {t.key: t for t in targets}
    start = time.perf_counter()
    cands: dict[str, list] = {}
    for batch in plan:
        for c in generator.run_batch(
            backend, batch, targets_by_key=by_key, context=context, decoding=decoding
        ):
            cands.setdefault(c.target_key, []).append(c)
    print(f"generated {len(targets)} texts in {time.perf_counter() - start:.0f} s")
    texts, labels, arts = [], [], []
    for t in targets:
        sel = generator.select_candidate(
            cands.get(t.key, []), human_body=t.human_body, selection=selection
        )
        if sel.chosen is None:
            continue
        texts += [sel.human_text, sel.machine_text]
        labels += [0, 1]
        arts += [t.key, t.key]
    results = score_zero_shot(backend, texts, ZERO_SHOT)
    y = np.array(labels)
    art_names = sorted(set(arts))
    index = np.array([art_names.index(a) for a in arts])
    boot = rng.multinomial(len(art_names), np.full(len(art_names), 1 / len(art_names)), 2000)
    print(f"{len(art_names)} articles (human and SmolLM2 text each), AUC [95% interval]:")
    for r in results:
        s = np.array(r.scores)
        reps = np.array([auc(s, y, b[index]) for b in boot])
        lo, hi = np.nanquantile(reps, [0.025, 0.975])
        print(f"  {r.detector:15s} {auc(s, y):.3f} [{lo:.3f}, {hi:.3f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=32)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--auc", type=int, default=0, help="also measure AUCs on N articles")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import generator

    backend = generator.open_backend(
        generator.get_model(generator.default_model_name()), threads=args.threads
    )
    corpus = load_corpus()
    texts = [
        " ".join(r["body"].split()[: args.words])
        for r in corpus
        if len(r["body"].split()) >= args.words
    ][: args.texts]
    print(f"model {backend.entry.name}, {len(texts)} texts of {args.words} words")
    throughput(backend, texts, args.batch_size, args.max_tokens)
    if args.auc:
        aucs(backend, corpus, args.auc, args.words, args.seed)


if __name__ == "__main__":
    main()
