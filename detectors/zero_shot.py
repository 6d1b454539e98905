"""Zero-shot detectors: statistics of a scoring model's next-token distributions over a text.

Every detector here returns one score per text, higher meaning more machine-like:

- ``loglik``: mean log-probability of the text's tokens;
- ``logrank``: minus the mean log of each token's rank (1 = the model's top choice);
- ``entropy``: minus the mean entropy of the predictive distribution (machine text sits where
  the model is sure);
- ``fast_detectgpt``: Fast-DetectGPT's analytic sampling discrepancy (Bao et al., ICLR 2024)
  with one model as sampler and scorer: ``(sum_t log p(x_t) - sum_t mu_t) / sqrt(sum_t s2_t)``
  with ``mu_t = sum_v p_v log p_v`` and ``s2_t = sum_v p_v (log p_v)^2 - mu_t^2``;
- ``binoculars``: minus the Binoculars ratio (Hans et al., 2024): the performer's log
  perplexity over the cross-entropy of the observer's distribution against the performer's,
  ``-(mean_t -log q(x_t)) / (mean_t -sum_v p_v log q_v)`` (p observer, q performer). It needs
  two models with one tokenizer.

The first token of a text is context only (it has no prediction) unless the tokenizer adds a
BOS token. Texts are batched (sorted by length, right-padded), the model is loaded once
(:func:`generator.open_backend`), and every statistic is computed in float64 from the logits,
so the same texts always give the same scores.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ZERO_SHOT = ("loglik", "logrank", "entropy", "fast_detectgpt")
PAIRED = ("binoculars",)
VERSION = "1"


@dataclass(frozen=True)
class ScoringSettings:
    batch_size: int = 8
    max_tokens: int = 512

    def as_dict(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "max_tokens": self.max_tokens}


@dataclass
class TokenStats:
    """Per-text sums over scored positions (float64)."""

    n: int = 0
    loglik: float = 0.0
    logrank: float = 0.0
    entropy: float = 0.0
    mu: float = 0.0
    var: float = 0.0
    cross_entropy: float = 0.0  # binoculars: -sum_v p_obs log q_perf
    extra: dict[str, float] = field(default_factory=dict)


def _encode(tokenizer, text: str, max_tokens: int) -> list[int]:
    ids = list(tokenizer(text, add_special_tokens=True)["input_ids"])
    return ids[:max_tokens]


def _batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _logits(model, rows: list[list[int]], pad_id: int, device: str):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    with torch.inference_mode():
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False)
    return out.logits


def _stats(logits_row, ids: list[int], observer_row=None) -> TokenStats:
    """Sums over positions 1..n-1 of one text (``logits_row[t]`` predicts ``ids[t + 1]``)."""
    import torch

    n = len(ids) - 1
    if n <= 0:
        return TokenStats()
    logits = logits_row[:n].double()
    target = torch.tensor(ids[1:], dtype=torch.long, device=logits.device)
    logp = torch.log_softmax(logits, dim=-1)
    p = logp.exp()
    chosen = logp.gather(-1, target[:, None])[:, 0]
    chosen_logit = logits.gather(-1, target[:, None])
    rank = 1 + (logits > chosen_logit).sum(-1)
    mu = (p * logp).sum(-1)
    var = (p * logp.square()).sum(-1) - mu.square()
    stats = TokenStats(
        n=n,
        loglik=float(chosen.sum()),
        logrank=float(torch.log(rank.double()).sum()),
        entropy=float(-mu.sum()),
        mu=float(mu.sum()),
        var=float(var.sum()),
    )
    if observer_row is not None:
        obs_p = torch.softmax(observer_row[:n].double(), dim=-1)
        stats.cross_entropy = float(-(obs_p * logp).sum())
    return stats


def detector_score(name: str, s: TokenStats) -> float:
    """One detector's score from a text's sums (NaN when the text has no scored token)."""
    if s.n == 0:
        return math.nan
    if name == "loglik":
        return s.loglik / s.n
    if name == "logrank":
        return -s.logrank / s.n
    if name == "entropy":
        return -s.entropy / s.n
    if name == "fast_detectgpt":
        return (s.loglik - s.mu) / math.sqrt(s.var) if s.var > 0 else math.nan
    if name == "binoculars":
        return -(-s.loglik / s.n) / (s.cross_entropy / s.n) if s.cross_entropy > 0 else math.nan
    raise ValueError(f"unknown zero-shot detector {name!r}")


def _describe(backend) -> dict[str, Any]:
    info = backend.describe()
    keep = ("model", "model_sha256", "dtype", "device", "torch", "transformers", "threads")
    return {k: info.get(k) for k in keep}


def token_stats(
    backend, texts: Sequence[str], settings: ScoringSettings, observer=None
) -> list[TokenStats]:
    """Per-text sums from one backend (the performer when ``observer`` is given)."""
    tok = backend.tokenizer
    encoded = [_encode(tok, t, settings.max_tokens) for t in texts]
    pad = backend.pad_id
    out: list[TokenStats] = [TokenStats() for _ in texts]
    for batch in _batches([len(e) for e in encoded], settings.batch_size):
        rows = [encoded[i] for i in batch]
        if max(len(r) for r in rows) < 2:
            continue
        logits = _logits(backend.model, rows, pad, backend.device)
        obs = _logits(observer.model, rows, pad, observer.device) if observer else None
        for j, i in enumerate(batch):
            out[i] = _stats(logits[j], rows[j], obs[j] if obs is not None else None)
        del logits, obs
    return out


def same_tokenizer(a, b) -> bool:
    """Whether two loaded backends tokenize identically (same vocabulary and special ids)."""
    ta, tb = a.tokenizer, b.tokenizer
    return ta.get_vocab() == tb.get_vocab() and ta.bos_token_id == tb.bos_token_id


@dataclass
class DetectorResult:
    """One detector's scores on a list of texts, higher = more machine-like."""

    detector: str
    scores: list[float]
    provenance: dict[str, Any]
    skipped: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "scores": self.scores,
            "provenance": self.provenance,
            "skipped": self.skipped,
        }


def score_zero_shot(
    backend,
    texts: Sequence[str],
    detectors: Sequence[str] = ZERO_SHOT,
    *,
    settings: ScoringSettings | None = None,
    observer=None,
    observer_reason: str = "",
) -> list[DetectorResult]:
    """Scores of the named zero-shot detectors, from one pass of ``backend`` over ``texts``.

    ``binoculars`` uses ``backend`` as performer and ``observer`` (another loaded backend with
    the same tokenizer); without one it is returned skipped with ``observer_reason``.
    """
    settings = settings or ScoringSettings()
    unknown = set(detectors) - set(ZERO_SHOT) - set(PAIRED)
    if unknown:
        raise ValueError(f"unknown zero-shot detectors {sorted(unknown)}")
    want_pair = "binoculars" in detectors
    reason = ""
    if want_pair and observer is None:
        reason = observer_reason or "no observer model with the scoring model's tokenizer"
    elif want_pair and not same_tokenizer(backend, observer):
        reason = f"{observer.entry.name} and {backend.entry.name} do not share a tokenizer"
    use_observer = observer if want_pair and not reason else None
    start = time.perf_counter()
    stats = token_stats(backend, texts, settings, observer=use_observer)
    seconds = time.perf_counter() - start
    base = {
        "scoring_model": _describe(backend),
        "version": VERSION,
        "settings": settings.as_dict(),
        "seconds": seconds,
        "texts": len(texts),
    }
    results = []
    for name in detectors:
        prov = {"detector": name, **base}
        if name == "binoculars":
            if reason:
                results.append(DetectorResult(name, [math.nan] * len(texts), prov, reason))
                continue
            prov["observer_model"] = _describe(observer)
        results.append(DetectorResult(name, [detector_score(name, s) for s in stats], prov))
    return results
