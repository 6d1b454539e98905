"""Slow tests on the real models shipped through PyPI (SmolLM2-135M, Gemma 3 270M)."""

import pytest
import torch

from generator import (
    ContextArticle,
    DecodingSettings,
    SelectionSettings,
    Target,
    body_without_subtitle,
    build_prompt,
    choose_context,
    file_sha256,
    get_model,
    open_backend,
    plan_batches,
    resolve_model_path,
    run_batch,
    select_candidate,
    word_count,
)
from generator.decoding import decode_batch, prefill_prefix

pytestmark = pytest.mark.slow


def target_of(row):
    return Target(
        row["id"],
        row["title"],
        row["subtitle"],
        body_without_subtitle(row["body"], row["subtitle"]),
    )


def test_smollm2_greedy_matches_generate_on_mixed_lengths(smollm2, corpus):
    tok, model = smollm2.tokenizer, smollm2.model
    prompts = [
        "Title: Storm hits coast\nArticle:",
        f"Title: {corpus[3]['title']}\nSubtitle: {corpus[3]['subtitle']}\nArticle:",
        "Hello, my name is",
        f"Title: {corpus[8]['title']}\nSubtitle: {corpus[8]['subtitle']}\nArticle:",
    ]
    rows = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    assert len({len(r) for r in rows}) == 4
    n = 24
    greedy = DecodingSettings(temperature=0, max_new_tokens=n, stop_at_next_article=False)
    mine = decode_batch(
        model,
        rows,
        settings=greedy,
        generators=[None] * 4,
        eos_ids=smollm2.eos_ids,
        pad_id=smollm2.pad_id,
    )
    width = max(map(len, rows))
    ids = torch.full((4, width), smollm2.pad_id)
    mask = torch.zeros((4, width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    with torch.inference_mode():
        ref = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=False,
            max_new_tokens=n,
            pad_token_id=smollm2.pad_id,
        )[:, width:].tolist()
    for row, expected in zip(mine, ref, strict=True):
        assert len(row.tokens) == n or row.finish_reason == "eos"
        assert list(row.tokens) == expected[: len(row.tokens)]


def test_smollm2_writes_real_articles_with_provenance(smollm2, corpus):
    entry = get_model("smollm2-135m")
    assert smollm2.model.num_parameters() == entry.params
    targets = [target_of(corpus[i]) for i in (10, 11)]
    by_key = {t.key: t for t in targets}
    pool = [ContextArticle(r["id"], r["title"], r["subtitle"], r["body"]) for r in corpus]
    context = choose_context(pool, by_key, 2, seed=1)
    selection = SelectionSettings(candidates=2, target_words=40, min_words_ratio=0.5)
    decoding = DecodingSettings(
        temperature=0.7, top_p=0.95, repetition_penalty=1.1, max_new_tokens=80
    )
    plan = plan_batches(targets, candidates=2, batch_size=4, seed=1)
    assert len(plan) == 1
    cands = run_batch(smollm2, plan[0], targets_by_key=by_key, context=context, decoding=decoding)
    sha = file_sha256(resolve_model_path(entry))
    for c in cands:
        p = c.provenance
        assert (
            p["model"] == "smollm2-135m"
            and p["model_sha256"] == sha
            and p["backend"] == "transformers"
        )
        assert p["context_article_ids"] == [a.key for a in context]
        assert p["prompt_tokens"] > 300 and 0 < p["new_tokens"] <= 80
        assert p["batch_size"] == 4 and p["threads"] >= 1 and p["prompt_format"] == "plain"
    for t in targets:
        result = select_candidate(
            [c for c in cands if c.target_key == t.key],
            human_body=t.human_body,
            selection=selection,
        )
        if result.chosen is None:
            assert result.failed_reason
            continue
        assert result.max_words == min(40, word_count(result.chosen.text))
        assert 0 < word_count(result.machine_text) <= result.max_words
        assert word_count(result.human_text) <= result.max_words
        assert "Title:" not in result.machine_text


def test_gemma3_270m_loads_and_generates(corpus):
    entry = get_model("gemma3-270m")
    backend = open_backend(entry, device="cpu")
    assert backend.model.num_parameters() == entry.params
    sha = backend.describe()["model_sha256"]
    assert sha == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    targets = [target_of(corpus[i]) for i in (10, 11)]
    pool = [ContextArticle(r["id"], r["title"], r["subtitle"], r["body"]) for r in corpus]
    context = choose_context(pool, {t.key for t in targets}, 3, seed=1)
    plan = plan_batches(targets, candidates=2, batch_size=4, seed=1)
    decoding = DecodingSettings(temperature=0.8, max_new_tokens=8)
    by_key = {t.key: t for t in targets}
    cands = run_batch(backend, plan[0], targets_by_key=by_key, context=context, decoding=decoding)
    assert len(cands) == 4 and all(c.provenance["new_tokens"] >= 1 for c in cands)
    # The context (> Gemma's 512-token sliding window) is cached once; greedy decoding from the
    # cache matches decoding the whole prompt.
    greedy = DecodingSettings(temperature=0, max_new_tokens=6, stop_at_next_article=False)
    encoded = [backend.encode(build_prompt(t, context, "plain")) for t in targets]
    assert len(encoded[0][0]) > backend.model.config.sliding_window
    prefix = prefill_prefix(backend.model, encoded[0][0])
    kwargs = dict(settings=greedy, eos_ids=backend.eos_ids, pad_id=backend.pad_id)
    cached = decode_batch(
        backend.model, [s for _, s in encoded], generators=[None] * 2, prefix=prefix, **kwargs
    )
    for (p, s), row in zip(encoded, cached, strict=True):
        whole = decode_batch(backend.model, [p + s], generators=[None], **kwargs)[0]
        assert row.tokens == whole.tokens
