"""Shared-prefix ("cascade") attention: every row attends to one copy of the prefix cache.

Without it, each of a batch's rows carries its own copy of the ~1,400-token few-shot context in
the key-value cache, and every decoding step reads all of them: at batch 16 about a gigabyte
per step for SmolLM2, more than the weights. Here the prefix keys and values stay batch-1;
queries of all rows are folded into one matrix product against them, the rows' own keys and
values (suffix and generated tokens) are attended separately, and the two softmax parts are
merged exactly through their maxima and sums (the log-sum-exp identity).

It is registered as attention implementation ``"newseval_prefix"``. Outside
:func:`prefix_scope` it simply calls transformers' ``sdpa`` implementation, so a model switched
to it behaves (and ``generate()`` decodes) bit for bit as with ``sdpa``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

IMPLEMENTATION = "newseval_prefix"

# Per layer: (keys, values) of the shared prefix, shaped [1, kv_heads, prefix_len, head_dim].
_ACTIVE: contextvars.ContextVar[Sequence[tuple[torch.Tensor, torch.Tensor]] | None] = (
    contextvars.ContextVar("newseval_prefix_kv", default=None)
)


@contextlib.contextmanager
def prefix_scope(prefix_kv: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> Iterator[None]:
    """Within this block, attention of a switched model also covers ``prefix_kv``."""
    token = _ACTIVE.set(prefix_kv)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _own_mask(
    attention_mask: torch.Tensor | None,
    prefix_len: int,
    q_len: int,
    own_len: int,
    device: torch.device,
) -> torch.Tensor:
    """Boolean [batch or 1, 1, q, own] mask over the rows' own keys (True = may attend)."""
    if attention_mask is None:
        # No padding: plain causal mask, the queries being the last q_len own positions.
        q_pos = torch.arange(own_len - q_len, own_len, device=device)[:, None]
        return (torch.arange(own_len, device=device)[None, :] <= q_pos)[None, None]
    mask = attention_mask[..., prefix_len : prefix_len + own_len]
    if mask.dtype != torch.bool:
        mask = mask > torch.finfo(mask.dtype).min / 2
    return mask


def prefix_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: object,
) -> tuple[torch.Tensor, None]:
    """Attention over [shared prefix | row's own keys]; ``sdpa`` when no prefix is active.

    query [B, Hq, q, D]; key/value [B, Hkv, own, D] (the row's own part only). Returns
    [B, q, Hq, D] like transformers' implementations.
    """
    active = _ACTIVE.get()
    if active is None:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    prefix_k, prefix_v = active[module.layer_idx]
    batch, q_heads, q_len, dim = query.shape
    if q_len > 1 and attention_mask is not None:
        # Prefilling a batch's suffixes: one pass, cheapest as ordinary attention over the
        # prefix copied into every row (transient; the cache keeps only the rows' own part).
        full_k = torch.cat([prefix_k.expand(batch, -1, -1, -1), key], dim=2)
        full_v = torch.cat([prefix_v.expand(batch, -1, -1, -1), value], dim=2)
        return sdpa_attention_forward(
            module,
            query,
            full_k,
            full_v,
            attention_mask,
            dropout=dropout,
            scaling=scaling,
            **kwargs,
        )
    kv_heads, own_len, prefix_len = key.shape[1], key.shape[2], prefix_k.shape[2]
    group = q_heads // kv_heads
    scale = scaling if scaling is not None else dim**-0.5
    dtype = query.dtype
    # Query head h uses kv head h // group: fold the group into the query rows.
    q = query.reshape(batch, kv_heads, group * q_len, dim).float() * scale

    # Shared prefix: one product for all rows, [Hkv, B*group*q, P].
    q_all = q.transpose(0, 1).reshape(kv_heads, batch * group * q_len, dim)
    s1 = torch.matmul(q_all, prefix_k[0].float().transpose(-1, -2))
    m1 = s1.amax(dim=-1, keepdim=True)
    e1 = torch.exp(s1 - m1)
    l1 = e1.sum(dim=-1, keepdim=True)
    o1 = torch.matmul(e1, prefix_v[0].float())

    def unfold(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(kv_heads, batch, group * q_len, t.shape[-1]).transpose(0, 1)

    m1, l1, o1 = unfold(m1), unfold(l1), unfold(o1)

    # The rows' own keys: [B, Hkv, group*q, own].
    s2 = torch.matmul(q, key.float().transpose(-1, -2))
    mask = _own_mask(attention_mask, prefix_len, q_len, own_len, query.device)
    s2 = s2.reshape(batch, kv_heads, group, q_len, own_len)
    s2 = s2.masked_fill(~mask[:, :, None], float("-inf")).reshape(
        batch, kv_heads, group * q_len, own_len
    )
    m = torch.maximum(m1, s2.amax(dim=-1, keepdim=True))
    a1 = torch.exp(m1 - m)
    e2 = torch.exp(s2 - m)
    out = (o1 * a1 + torch.matmul(e2, value.float())) / (l1 * a1 + e2.sum(dim=-1, keepdim=True))
    out = out.reshape(batch, q_heads, q_len, dim).transpose(1, 2).to(dtype)
    return out.contiguous(), None


AttentionInterface.register(IMPLEMENTATION, prefix_attention_forward)
AttentionMaskInterface.register(IMPLEMENTATION, sdpa_mask)
