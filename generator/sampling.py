"""Logits processors as small pure functions ``(input_ids, logits) -> logits``, and the sampler.

``input_ids`` is a ``[batch, length]`` tensor of the tokens each row has seen so far, with
``-1`` where a row has no token (padding); ``logits`` is ``[batch, vocab]``. Nothing here
changes its arguments in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .settings import DecodingSettings

Processor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def repetition_penalty(
    input_ids: torch.Tensor, logits: torch.Tensor, penalty: float
) -> torch.Tensor:
    """Make tokens already seen less likely: positive logits divided by ``penalty``, negative
    ones multiplied (Keskar et al. 2019, as transformers does it)."""
    if penalty == 1.0:
        return logits
    valid = input_ids >= 0
    counts = torch.zeros(logits.shape, dtype=torch.int32, device=logits.device)
    counts.scatter_add_(1, input_ids.clamp(min=0), valid.to(torch.int32))
    penalised = torch.where(logits < 0, logits * penalty, logits / penalty)
    return torch.where(counts > 0, penalised, logits)


def temperature(input_ids: torch.Tensor, logits: torch.Tensor, value: float) -> torch.Tensor:
    """Divide logits by ``value`` (> 0)."""
    if value <= 0:
        raise ValueError(f"temperature must be > 0 here, got {value}")
    return logits if value == 1.0 else logits / value


def top_k(input_ids: torch.Tensor, logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row (ties at the k-th value kept); others -inf."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p(input_ids: torch.Tensor, logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of most likely tokens whose mass reaches ``p``
    (always at least the most likely token)."""
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_before = torch.cumsum(probs, dim=-1) - probs
    drop_sorted = mass_before >= p
    drop_sorted[:, 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def processors_for(settings: DecodingSettings) -> list[Processor]:
    """The processors a setting implies, in the order applied: penalty, temperature, top-k, top-p.

    Greedy decoding (temperature 0) only applies the repetition penalty.
    """
    chain: list[Processor] = []
    if settings.repetition_penalty != 1.0:
        chain.append(lambda ids, lg: repetition_penalty(ids, lg, settings.repetition_penalty))
    if settings.greedy:
        return chain
    if settings.temperature != 1.0:
        chain.append(lambda ids, lg: temperature(ids, lg, settings.temperature))
    if settings.top_k:
        chain.append(lambda ids, lg: top_k(ids, lg, settings.top_k))
    if settings.top_p < 1.0:
        chain.append(lambda ids, lg: top_p(ids, lg, settings.top_p))
    return chain


def apply_processors(
    processors: Sequence[Processor], input_ids: torch.Tensor, logits: torch.Tensor
) -> torch.Tensor:
    for processor in processors:
        logits = processor(input_ids, logits)
    return logits


def sample_next(
    logits: torch.Tensor, generators: Sequence[torch.Generator | None], *, greedy: bool
) -> torch.Tensor:
    """One token per row: argmax when greedy, else a draw from row ``i``'s own generator.

    Drawing row by row keeps each candidate's random stream independent of its batch mates.
    """
    if greedy:
        return torch.argmax(logits, dim=-1)
    probs = torch.softmax(logits.float(), dim=-1)
    picks = [torch.multinomial(probs[i], 1, generator=generators[i]) for i in range(probs.shape[0])]
    return torch.cat(picks)
