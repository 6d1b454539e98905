"""The whole local path on a tiny random-weight model: decoding, caching, reproducibility."""

import json
import subprocess
import sys

import torch

from generator import (
    ContextArticle,
    DecodingSettings,
    SelectionSettings,
    Target,
    build_prompt,
    plan_batches,
    run_batch,
    select_candidate,
)
from generator.decoding import decode_batch, prefill_prefix

CONTEXT = [
    ContextArticle(
        "c1",
        "Budget passes",
        "The council passed the budget.",
        "The council passed the budget. It took hours.",
    ),
    ContextArticle("c2", "Storm warning", "A storm is coming.", "A storm is coming. Stay inside."),
]
TARGETS = {
    t.key: t
    for t in [
        Target(
            "a", "Bridge reopens", "The old bridge reopened on Friday.", "It had been closed. " * 10
        ),
        Target("b", "A much longer title about the city's new library", "Books.", "Short body."),
        Target(
            "c",
            "Mayor",
            "The mayor resigned after a long scandal involving parking.",
            "Body text here.",
        ),
    ]
}
SAMPLED = DecodingSettings(
    temperature=0.9, top_p=0.95, top_k=40, repetition_penalty=1.1, max_new_tokens=12
)


def texts(candidates):
    return [(c.target_key, c.candidate_index, c.text) for c in candidates]


def run_plan(backend, plan, **kwargs):
    out = []
    for batch in plan:
        out += run_batch(backend, batch, targets_by_key=TARGETS, context=CONTEXT, **kwargs)
    return out


def test_same_inputs_give_same_texts_and_full_provenance(tiny_backend):
    plan = plan_batches(TARGETS.values(), candidates=2, batch_size=4, seed=5)
    first = run_plan(tiny_backend, plan, decoding=SAMPLED)
    second = run_plan(tiny_backend, plan, decoding=SAMPLED)
    assert texts(first) == texts(second)
    assert len({c.text for c in first}) > 1
    prov = first[0].provenance
    for key in (
        "model",
        "model_sha256",
        "backend",
        "prompt_format",
        "context_article_ids",
        "decoding",
        "seed",
        "batch_index",
        "batch_size",
        "threads",
        "torch",
        "transformers",
        "prompt_tokens",
        "new_tokens",
        "seconds",
        "finish_reason",
        "rejection",
    ):
        assert key in prov, key
    assert prov["context_article_ids"] == ["c1", "c2"] and prov["decoding"]["top_k"] == 40
    assert len(prov["model_sha256"]) == 64
    assert prov["new_tokens"] == 12 and prov["finish_reason"] == "length"
    json.dumps([c.provenance for c in first])
    assert [c.provenance["prefix_cache_hit"] for c in first] == [False] * 4 + [True] * 2 or all(
        c.provenance["prefix_cache_hit"] for c in first
    )


def test_candidate_text_does_not_depend_on_its_batch(tiny_backend):
    small = run_plan(
        tiny_backend,
        plan_batches(TARGETS.values(), candidates=2, batch_size=1, seed=5),
        decoding=SAMPLED,
    )
    large = run_plan(
        tiny_backend,
        plan_batches(TARGETS.values(), candidates=2, batch_size=6, seed=5),
        decoding=SAMPLED,
    )
    assert texts(small) == texts(large)


def test_resume_after_interruption_regenerates_identical_batches(tiny_backend):
    plan = plan_batches(TARGETS.values(), candidates=3, batch_size=2, seed=9)
    full = run_plan(tiny_backend, plan, decoding=SAMPLED)
    stored = {
        b.index: run_batch(
            tiny_backend, b, targets_by_key=TARGETS, context=CONTEXT, decoding=SAMPLED
        )
        for b in plan[:2]
    }
    # ...the worker dies; a new run rebuilds the plan and does only the missing batches.
    replan = plan_batches(list(TARGETS.values())[::-1], candidates=3, batch_size=2, seed=9)
    for batch in replan:
        if batch.index not in stored:
            stored[batch.index] = run_batch(
                tiny_backend, batch, targets_by_key=TARGETS, context=CONTEXT, decoding=SAMPLED
            )
    resumed = [c for i in sorted(stored) for c in stored[i]]
    assert texts(resumed) == texts(full)


def test_prefix_cache_matches_decoding_the_whole_prompt(tiny_backend):
    greedy = DecodingSettings(temperature=0, max_new_tokens=10, stop_at_next_article=False)
    prompts = [build_prompt(t, CONTEXT, "plain") for t in TARGETS.values()]
    encoded = [tiny_backend.encode(p) for p in prompts]
    model = tiny_backend.model
    prefix = prefill_prefix(model, encoded[0][0])
    cached = decode_batch(
        model,
        [s for _, s in encoded],
        settings=greedy,
        generators=[None] * 3,
        eos_ids=[10_000],
        pad_id=tiny_backend.pad_id,
        prefix=prefix,
    )
    whole = [
        decode_batch(
            model,
            [p + s],
            settings=greedy,
            generators=[None],
            eos_ids=[10_000],
            pad_id=tiny_backend.pad_id,
        )[0]
        for p, s in encoded
    ]
    assert [r.tokens for r in cached] == [r.tokens for r in whole]


def test_greedy_matches_transformers_generate_on_mixed_lengths(tiny_backend):
    tok, model = tiny_backend.tokenizer, tiny_backend.model
    rows = [
        tok(t, add_special_tokens=False)["input_ids"]
        for t in ("Hi", "Title: longer prompt here\nArticle:", "abc def")
    ]
    greedy = DecodingSettings(temperature=0, max_new_tokens=15, stop_at_next_article=False)
    mine = decode_batch(
        model,
        rows,
        settings=greedy,
        generators=[None] * 3,
        eos_ids=tiny_backend.eos_ids,
        pad_id=tiny_backend.pad_id,
    )
    width = max(map(len, rows))
    ids = torch.full((3, width), tiny_backend.pad_id)
    mask = torch.zeros((3, width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    ref = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=False,
        max_new_tokens=15,
        pad_token_id=tiny_backend.pad_id,
    )[:, width:]
    for row, expected in zip(mine, ref.tolist(), strict=True):
        assert list(row.tokens) == expected[: len(row.tokens)]


def test_stops_at_eos_and_keeps_other_rows_going(tiny_backend):
    greedy = DecodingSettings(temperature=0, max_new_tokens=8, stop_at_next_article=False)
    suffixes = [tiny_backend.encode(build_prompt(t, [], "plain"))[1] for t in TARGETS.values()]
    free = decode_batch(
        tiny_backend.model,
        suffixes,
        settings=greedy,
        generators=[None] * 3,
        eos_ids=[10_000],
        pad_id=tiny_backend.pad_id,
    )
    eos = free[0].tokens[2]
    stopped = decode_batch(
        tiny_backend.model,
        suffixes,
        settings=greedy,
        generators=[None] * 3,
        eos_ids=[eos],
        pad_id=tiny_backend.pad_id,
    )
    assert stopped[0].finish_reason == "eos"
    assert stopped[0].tokens == free[0].tokens[: free[0].tokens.index(eos) + 1]
    for row, ref in zip(stopped[1:], free[1:], strict=True):
        assert row.tokens == ref.tokens[: len(row.tokens)]


def test_chat_format_uses_the_chat_template(tiny_backend):
    prompt = build_prompt(TARGETS["a"], CONTEXT, "chat")
    prefix, suffix = tiny_backend.encode(prompt)
    text = tiny_backend.tokenizer.decode(prefix + suffix)
    assert text.startswith("<|user|>\nTitle: Budget passes") and text.endswith(
        "Article:\n<|assistant|>\n"
    )
    out = run_batch(
        tiny_backend,
        plan_batches([TARGETS["a"]], candidates=1, batch_size=1, seed=1)[0],
        targets_by_key=TARGETS,
        context=CONTEXT,
        prompt_format="chat",
        decoding=SAMPLED,
    )
    assert out[0].provenance["prompt_format"] == "chat"


def test_selection_on_generated_candidates(tiny_backend):
    plan = plan_batches([TARGETS["a"]], candidates=3, batch_size=3, seed=2)
    cands = run_plan(tiny_backend, plan, decoding=SAMPLED)
    result = select_candidate(
        cands,
        human_body=TARGETS["a"].human_body,
        selection=SelectionSettings(
            candidates=3, target_words=4, min_words_ratio=0, min_distinct_4gram=0
        ),
    )
    assert len(result.candidates) == 3
    assert sum(c.provenance["chosen"] for c in result.candidates) == (1 if result.chosen else 0)


def test_command_line_end_to_end(tiny_registry, tmp_path):
    titles = tmp_path / "titles.jsonl"
    corpus = tmp_path / "corpus.jsonl"
    titles.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": t.key,
                    "title": t.title,
                    "subtitle": t.subtitle,
                    "body": t.subtitle + " " + t.human_body,
                    "date": "2019-01-01",
                }
            )
            for t in TARGETS.values()
        )
    )
    corpus.write_text(
        "\n".join(
            json.dumps({"id": c.key, "title": c.title, "subtitle": c.subtitle, "body": c.body})
            for c in CONTEXT
        )
    )
    out = tmp_path / "out.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "generator",
        "--titles",
        str(titles),
        "--model",
        "tiny",
        "--registry",
        str(tiny_registry),
        "--out",
        str(out),
        "--candidates",
        "2",
        "--target-words",
        "4",
        "--min-words-ratio",
        "0",
        "--min-distinct-4gram",
        "0",
        "--context-file",
        str(corpus),
        "--context-articles",
        "2",
        "--batch-size",
        "4",
        "--max-new-tokens",
        "8",
        "--seed",
        "3",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["key"] for r in rows] == ["a", "b", "c"]
    assert all(len(r["candidates"]) == 2 for r in rows)
    assert rows[0]["candidates"][0]["provenance"]["context_article_ids"] in (
        ["c1", "c2"],
        ["c2", "c1"],
    )
    assert "contamination" in done.stderr and "3 titles" in done.stderr


def test_identical_prompts_are_prefilled_once_with_the_same_result(tiny_backend):
    greedy = DecodingSettings(temperature=0, max_new_tokens=8, stop_at_next_article=False)
    a, b = (
        tiny_backend.encode(build_prompt(t, [], "plain"))[1] for t in list(TARGETS.values())[:2]
    )
    kwargs = dict(settings=greedy, eos_ids=[10_000], pad_id=tiny_backend.pad_id)
    fanned = decode_batch(tiny_backend.model, [a, b, a], generators=[None] * 3, **kwargs)
    plain = decode_batch(tiny_backend.model, [a, b], generators=[None] * 2, **kwargs)
    assert [r.tokens for r in fanned] == [plain[0].tokens, plain[1].tokens, plain[0].tokens]
