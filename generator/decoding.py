"""The batched decoding loop over a causal LM's forward pass, with a shared-prefix KV cache.

Layout of one batch (``P`` shared prefix tokens, suffixes left-padded to ``S``)::

    row 0: [prefix ... P][pad pad  suffix_0   ][new tokens ...]
    row 1: [prefix ... P][    suffix_1 (longest)][new tokens ...]

The prefix is prefilled once (batch 1) and its cache copied into every batch. Padding sits
between prefix and suffix; the attention mask hides it and position ids skip it, so each row
sees exactly ``prefix + suffix_i``. With no prefix the layout is transformers' own left padding,
and greedy decoding then reproduces ``model.generate(do_sample=False)`` token for token.

Full-attention layers use a preallocated, growing cache layer instead of transformers'
``DynamicLayer`` (which re-concatenates the whole cache on every step: quadratic copying,
about a gigabyte per step at batch 16 behind a 1,400-token prefix).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

from .cascade import prefix_scope
from .sampling import apply_processors, processors_for, sample_next
from .settings import DecodingSettings


class GrowingLayer(DynamicLayer):
    """A full-attention cache layer backed by a preallocated buffer, grown by doubling.

    ``update`` writes new states in place and returns views of the filled part, so a decoding
    step copies one token's states rather than the whole cache.
    """

    def __init__(self, capacity: int = 0, offset: int = 0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.capacity = capacity
        # Tokens held elsewhere (the shared prefix, under cascade attention) that still count
        # for positions and mask sizes.
        self.offset = offset
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.dtype, self.device = key_states.dtype, key_states.device
        n = max(self.capacity, key_states.shape[-2])
        self._k = key_states.new_empty((*key_states.shape[:2], n, key_states.shape[-1]))
        self._v = value_states.new_empty((*value_states.shape[:2], n, value_states.shape[-1]))
        self.length = 0
        self.keys, self.values = self._k[:, :, :0], self._v[:, :, :0]
        self.is_initialized = True

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self._k.shape[-2]:
            n = max(end, 2 * self._k.shape[-2])
            grown_k = self._k.new_empty((*self._k.shape[:2], n, self._k.shape[-1]))
            grown_v = self._v.new_empty((*self._v.shape[:2], n, self._v.shape[-1]))
            grown_k[:, :, : self.length] = self._k[:, :, : self.length]
            grown_v[:, :, : self.length] = self._v[:, :, : self.length]
            self._k, self._v = grown_k, grown_v
        self._k[:, :, self.length : end] = key_states
        self._v[:, :, self.length : end] = value_states
        self.length = end
        self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.offset + self.length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep (or repeat) rows ``indices``; used to fan identical prompts out after prefill."""
        if self.is_initialized:
            self._k, self._v = self._k[indices], self._v[indices]
            self.keys, self.values = self._k[:, :, : self.length], self._v[:, :, : self.length]

    def reset(self) -> None:
        super().reset()
        self.length = 0


@dataclass
class PrefixState:
    """A prefilled shared prefix: its token ids and its batch-1 cache (never mutated)."""

    ids: tuple[int, ...]
    cache: DynamicCache | None
    seconds: float


@dataclass(frozen=True)
class DecodedRow:
    """What one row produced: new token ids (EOS included if emitted) and why it stopped
    (``"eos"``, ``"length"`` or ``"stop_text"``)."""

    tokens: tuple[int, ...]
    finish_reason: str


def prefill_prefix(model: torch.nn.Module, prefix_ids: Sequence[int]) -> PrefixState:
    """Run the shared prefix once (batch 1) and keep its cache."""
    start = time.perf_counter()
    ids = tuple(int(t) for t in prefix_ids)
    if not ids:
        return PrefixState(ids, None, 0.0)
    cache = DynamicCache(config=model.config)
    input_ids = torch.tensor([ids], dtype=torch.long, device=model.device)
    with torch.inference_mode():
        model(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            position_ids=torch.arange(len(ids), device=model.device)[None],
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
    return PrefixState(ids, cache, time.perf_counter() - start)


def uses_prefix_attention(model: torch.nn.Module) -> bool:
    """Whether the model runs :mod:`generator.cascade` attention (set by the backend)."""
    from .cascade import IMPLEMENTATION

    return getattr(model.config, "_attn_implementation", None) == IMPLEMENTATION


def _batch_cache(
    model: torch.nn.Module, prefix: PrefixState | None, batch: int, capacity: int
) -> tuple[DynamicCache, list[tuple[torch.Tensor, torch.Tensor]] | None]:
    """A fresh cache for ``batch`` rows, holding the prefix in every row, or, under cascade
    attention, empty rows plus the batch-1 prefix keys and values to attend to."""
    cache = DynamicCache(config=model.config)
    source = prefix.cache if prefix is not None and prefix.cache is not None else None
    if (
        source is not None
        and uses_prefix_attention(model)
        and all(type(layer) is DynamicLayer for layer in source.layers)
    ):
        offset = source.get_seq_length()
        cache.layers = [
            GrowingLayer(capacity=capacity - offset, offset=offset) for _ in cache.layers
        ]
        return cache, [(layer.keys, layer.values) for layer in source.layers]
    for i, layer in enumerate(cache.layers):
        if type(layer) is DynamicLayer:
            grown = GrowingLayer(capacity=capacity)
            if source is not None:
                keys, values = source.layers[i].keys, source.layers[i].values
                grown.update(keys.expand(batch, -1, -1, -1), values.expand(batch, -1, -1, -1))
            cache.layers[i] = grown
        elif source is not None:
            # Sliding-window and other layer kinds keep extra state: copy them as they are.
            copied = copy.deepcopy(source.layers[i])
            copied.batch_repeat_interleave(batch)
            cache.layers[i] = copied
    return cache, None


@dataclass(frozen=True)
class _Layout:
    """The first forward pass's inputs (on the CPU), for the distinct suffixes only: the
    candidates of one target share a suffix, prefilled once and fanned out after."""

    input_ids: torch.Tensor  # (distinct, width): suffixes left-padded with pad_id
    positions: torch.Tensor  # (distinct, width): after the prefix, skipping the padding
    attention: torch.Tensor  # (distinct, prefix + width): the prefix, then each suffix
    seen: torch.Tensor  # (batch, width + max_new): each row's tokens so far, -1 for none
    fan_out: torch.Tensor | None  # the distinct suffix of each row; None if all differ
    width: int
    distinct: int

    @classmethod
    def of(
        cls, suffixes: Sequence[Sequence[int]], *, pad_id: int, prefix_len: int, max_new: int
    ) -> _Layout:
        batch = len(suffixes)
        width = max(len(s) for s in suffixes)
        distinct: dict[tuple[int, ...], int] = {}
        row_of = [distinct.setdefault(tuple(int(t) for t in s), len(distinct)) for s in suffixes]
        fan_out = torch.tensor(row_of, dtype=torch.long) if len(distinct) < batch else None

        input_ids = torch.full((len(distinct), width), pad_id, dtype=torch.long)
        suffix_mask = torch.zeros((len(distinct), width), dtype=torch.long)
        for row, suffix in enumerate(distinct):
            input_ids[row, width - len(suffix) :] = torch.tensor(suffix, dtype=torch.long)
            suffix_mask[row, width - len(suffix) :] = 1
        seen = torch.full((batch, width + max_new), -1, dtype=torch.long)
        for row, suffix in enumerate(suffixes):
            seen[row, width - len(suffix) : width] = torch.tensor(list(suffix), dtype=torch.long)
        positions = (prefix_len + suffix_mask.cumsum(-1) - 1).masked_fill(suffix_mask == 0, 1)
        attention = torch.cat(
            [torch.ones((len(distinct), prefix_len), dtype=torch.long), suffix_mask], dim=1
        )
        return cls(input_ids, positions, attention, seen, fan_out, width, len(distinct))


def _last_logits(
    model: torch.nn.Module,
    cache: DynamicCache,
    input_ids: torch.Tensor,
    attention: torch.Tensor,
    positions: torch.Tensor,
) -> torch.Tensor:
    """One forward step; the last position's logits, as float32 on the CPU."""
    out = model(
        input_ids=input_ids,
        attention_mask=attention,
        position_ids=positions,
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    return out.logits[:, -1, :].to(dtype=torch.float32).cpu()


def _take_step(
    picked: torch.Tensor,
    unfinished: torch.Tensor,
    new_tokens: list[list[int]],
    reasons: list[str | None],
    *,
    eos: torch.Tensor,
    stop: Callable[[Sequence[int]], bool] | None,
) -> None:
    """Append each unfinished row's token; a row ends at EOS or when ``stop`` says so."""
    for row in torch.nonzero(unfinished).flatten().tolist():
        token = int(picked[row])
        new_tokens[row].append(token)
        if bool((eos == token).any()):
            reasons[row] = "eos"
        elif stop is not None and stop(new_tokens[row]):
            reasons[row] = "stop_text"
        if reasons[row] is not None:
            unfinished[row] = False


def decode_batch(
    model: torch.nn.Module,
    suffixes: Sequence[Sequence[int]],
    *,
    settings: DecodingSettings,
    generators: Sequence[torch.Generator | None],
    eos_ids: Sequence[int],
    pad_id: int,
    prefix: PrefixState | None = None,
    stop: Callable[[Sequence[int]], bool] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> list[DecodedRow]:
    """Generate for every suffix (after the shared ``prefix``) until EOS, ``stop`` or length.

    ``on_step(tokens, finished)`` is called after every step with the tokens drawn so far
    over all rows and the number of rows finished (the last call counts every row
    finished); it may raise to abandon the batch.

    ``generators[i]`` is row ``i``'s own random stream (unused when greedy). ``stop`` is called
    with a row's new tokens after each step and ends that row when it returns True.
    Finished rows keep receiving ``pad_id`` (ignored) until every row is done, as
    ``generate()`` does. Identical suffixes (the candidates of one target) are prefilled once
    and their cache rows copied before the first token is drawn.
    """
    if not suffixes or any(len(s) == 0 for s in suffixes):
        raise ValueError("every row needs at least one suffix token")
    if len(generators) != len(suffixes):
        raise ValueError("one generator per row is required")
    device = model.device
    batch = len(suffixes)
    prefix_len = len(prefix.ids) if prefix is not None else 0
    max_new = settings.max_new_tokens
    layout = _Layout.of(suffixes, pad_id=pad_id, prefix_len=prefix_len, max_new=max_new)
    width, seen, fan_out = layout.width, layout.seen, layout.fan_out
    input_ids, positions, attention = (
        layout.input_ids.to(device),
        layout.positions.to(device),
        layout.attention.to(device),
    )
    cache, shared_kv = _batch_cache(model, prefix, layout.distinct, prefix_len + width + max_new)
    scope = (lambda: prefix_scope(shared_kv)) if shared_kv is not None else contextlib.nullcontext
    processors = processors_for(settings)
    eos = torch.tensor(sorted(set(eos_ids)), dtype=torch.long)
    new_tokens: list[list[int]] = [[] for _ in range(batch)]
    reasons: list[str | None] = [None] * batch
    unfinished = torch.ones(batch, dtype=torch.bool)

    with torch.inference_mode():
        for step in range(max_new):
            with scope():
                logits = _last_logits(model, cache, input_ids, attention, positions)
            if step == 0 and fan_out is not None:
                logits = logits[fan_out]
                cache.batch_select_indices(fan_out.to(device))
                positions, attention = positions[fan_out.to(device)], attention[fan_out.to(device)]
            logits = apply_processors(processors, seen[:, : width + step], logits)
            picked = sample_next(logits, generators, greedy=settings.greedy)
            picked = torch.where(unfinished, picked, torch.full_like(picked, pad_id))
            seen[:, width + step] = torch.where(unfinished, picked, torch.full_like(picked, -1))
            _take_step(picked, unfinished, new_tokens, reasons, eos=eos, stop=stop)
            last = not bool(unfinished.any()) or step == max_new - 1
            if on_step is not None:
                finished = batch if last else batch - int(unfinished.sum())
                on_step(sum(len(t) for t in new_tokens), finished)
            if last:
                break
            input_ids = picked[:, None].to(device)
            positions = positions[:, -1:] + 1
            attention = torch.cat(
                [attention, torch.ones((batch, 1), dtype=attention.dtype, device=device)], dim=1
            )
    return [
        DecodedRow(tuple(tokens), reason or "length")
        for tokens, reason in zip(new_tokens, reasons, strict=True)
    ]
