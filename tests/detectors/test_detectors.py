"""Detectors on the tiny random model: formulas checked against direct slow computations."""

from __future__ import annotations

import json
import math

import pytest

from detectors import ScoringSettings, TrainingSet, score_texts
from detectors.supervised import train_and_score

TEXTS = [
    "The council met on Tuesday to discuss the budget.",
    "Rain fell across the valley, and the river rose by a metre overnight.",
    "A",
    "Officials said the bridge would reopen next week after repairs to its deck.",
    "x y z",
]


@pytest.fixture(scope="module")
def two_tiny(tmp_path_factory):
    """A registry with two tiny models (different weights, one tokenizer)."""
    from generator.backends import clear_backend_cache
    from generator.testing import make_tiny_model, tiny_registry_entry

    root = tmp_path_factory.mktemp("det")
    lines = ['default = "tiny"']
    for name, seed in (("tiny", 0), ("tiny-b", 1)):
        folder = make_tiny_model(root / name, seed=seed)
        lines.append(f"[models.{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in tiny_registry_entry(folder, name).items()]
    path = root / "models.toml"
    path.write_text("\n".join(lines) + "\n")
    yield path
    clear_backend_cache()


def _slow_stats(model, tokenizer, text, observer=None):
    """Per position, straight from the definitions, in float64, one text, no batching."""
    import torch

    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].double()
        obs = observer(input_ids=torch.tensor([ids])).logits[0].double() if observer else None
    ll = mus = vs = xent = 0.0
    for t in range(len(ids) - 1):
        logp = torch.log_softmax(logits[t], -1).tolist()
        p = [math.exp(v) for v in logp]
        ll += logp[ids[t + 1]]
        mu = sum(pi * li for pi, li in zip(p, logp, strict=True))
        mus += mu
        vs += sum(pi * li * li for pi, li in zip(p, logp, strict=True)) - mu * mu
        if obs is not None:
            q = torch.softmax(obs[t], -1).tolist()
            xent -= sum(qi * li for qi, li in zip(q, logp, strict=True))
    return len(ids) - 1, ll, mus, vs, xent


def test_fast_detectgpt_and_binoculars_match_slow_formula(two_tiny):
    from generator import get_model, open_backend

    settings = ScoringSettings(batch_size=3, max_tokens=512)
    results = score_texts(
        TEXTS,
        ["loglik", "fast_detectgpt", "binoculars"],
        registry=two_tiny,
        settings=settings,
    )
    by = {r.detector: r for r in results}
    assert by["binoculars"].skipped == ""
    assert by["binoculars"].provenance["observer_model"]["model"] == "tiny-b"
    perf = open_backend(get_model("tiny", two_tiny))
    obs = open_backend(get_model("tiny-b", two_tiny))
    for i, text in enumerate(TEXTS):
        n, ll, mu, var, xent = _slow_stats(perf.model, perf.tokenizer, text, obs.model)
        if n == 0:
            assert math.isnan(by["fast_detectgpt"].scores[i])
            continue
        assert by["loglik"].scores[i] == pytest.approx(ll / n, abs=1e-5)
        assert by["fast_detectgpt"].scores[i] == pytest.approx((ll - mu) / math.sqrt(var), abs=1e-5)
        assert by["binoculars"].scores[i] == pytest.approx((ll / n) / (xent / n), abs=1e-5)


def test_scores_are_deterministic_and_batch_independent(two_tiny):
    names = ["loglik", "logrank", "entropy", "fast_detectgpt"]
    a = score_texts(TEXTS, names, registry=two_tiny, settings=ScoringSettings(batch_size=1))
    b = score_texts(TEXTS, names, registry=two_tiny, settings=ScoringSettings(batch_size=4))
    c = score_texts(TEXTS, names, registry=two_tiny, settings=ScoringSettings(batch_size=4))
    for ra, rb, rc in zip(a, b, c, strict=True):
        assert rb.scores == rc.scores or all(
            math.isnan(x) and math.isnan(y) for x, y in zip(rb.scores, rc.scores, strict=True)
        )
        for x, y in zip(ra.scores, rb.scores, strict=True):
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-5)
        prov = rb.provenance
        assert prov["detector"] == rb.detector and prov["scoring_model"]["model"] == "tiny"
        assert prov["settings"]["batch_size"] == 4 and prov["seconds"] >= 0


def test_logrank_is_minus_mean_log_rank(two_tiny):
    import torch

    from generator import get_model, open_backend

    (result,) = score_texts(TEXTS[:1], ["logrank"], registry=two_tiny)
    backend = open_backend(get_model("tiny", two_tiny))
    ids = backend.tokenizer(TEXTS[0])["input_ids"]
    with torch.no_grad():
        logits = backend.model(input_ids=torch.tensor([ids])).logits[0]
    ranks = [1 + int((logits[t] > logits[t, ids[t + 1]]).sum()) for t in range(len(ids) - 1)]
    expected = -sum(math.log(r) for r in ranks) / len(ranks)
    assert result.scores[0] == pytest.approx(expected, abs=1e-9)


def test_binoculars_skipped_with_reason_without_partner(tmp_path):
    from generator.backends import clear_backend_cache
    from generator.testing import make_tiny_model, tiny_registry_toml

    path = tmp_path / "models.toml"
    path.write_text(tiny_registry_toml(make_tiny_model(tmp_path / "m")))
    try:
        (result,) = score_texts(TEXTS[:2], ["binoculars"], registry=path)
    finally:
        clear_backend_cache()
    assert "no second local model" in result.skipped
    assert all(math.isnan(s) for s in result.scores)


def test_supervised_learns_a_planted_difference():
    human = [f"The mayor said on day {i}, plainly, that roads were shut." for i in range(20)]
    machine = [f"Moreover the committee stated item {i} furthermore was noted." for i in range(20)]
    train = TrainingSet(human[:14] + machine[:14], [0] * 14 + [1] * 14)
    test = human[14:] + machine[14:]
    for name in ("lr_features", "lr_ngrams"):
        r = train_and_score(name, train.texts, train.labels, test)
        assert min(r.scores[6:]) > max(r.scores[:6]), name
        again = train_and_score(name, train.texts, train.labels, test)
        assert again.scores == r.scores
    skipped = train_and_score("lr_ngrams", human, [0] * 20, test)
    assert skipped.skipped


def test_cli_writes_rows(two_tiny, tmp_path, monkeypatch):
    from detectors.cli import main

    texts = tmp_path / "t.jsonl"
    texts.write_text(
        "".join(json.dumps({"id": f"a{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS[:2]))
    )
    out = tmp_path / "o.jsonl"
    assert (
        main(
            [
                "--texts",
                str(texts),
                "--out",
                str(out),
                "--registry",
                str(two_tiny),
                "--detectors",
                "loglik,lr_ngrams",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["detector"]) for r in rows] == [
        ("a0", "loglik"),
        ("a1", "loglik"),
        ("a0", "lr_ngrams"),
        ("a1", "lr_ngrams"),
    ]
    assert rows[2]["skipped"] == "no training texts given"


def test_importing_detectors_loads_neither_django_nor_torch():
    import subprocess
    import sys

    code = (
        "import sys, detectors, detectors.zero_shot, detectors.supervised;"
        "bad = [m for m in ('django', 'torch', 'transformers') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
