"""Shared-prefix attention equals ordinary attention over [prefix | own keys]."""

import torch

from generator.cascade import prefix_attention_forward, prefix_scope


class Layer(torch.nn.Module):
    layer_idx = 0
    num_key_value_groups = 3
    training = False


def reference(q, k, v, allowed):
    """Plain attention with GQA by repeating kv heads; allowed: [B, 1, q, kv] bool."""
    group = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    scores = scores.masked_fill(~allowed, float("-inf"))
    return (torch.softmax(scores, -1) @ v).transpose(1, 2)


def test_prefix_attention_matches_full_attention_with_padding():
    g = torch.Generator().manual_seed(0)
    batch, kv_heads, q_heads, dim, prefix_len, own_len, q_len = 3, 2, 6, 8, 7, 5, 5
    pk = torch.randn(1, kv_heads, prefix_len, dim, generator=g)
    pv = torch.randn(1, kv_heads, prefix_len, dim, generator=g)
    k = torch.randn(batch, kv_heads, own_len, dim, generator=g)
    v = torch.randn(batch, kv_heads, own_len, dim, generator=g)
    q = torch.randn(batch, q_heads, q_len, dim, generator=g)
    pad = torch.tensor([0, 2, 1])  # left padding of each row's own part
    own_ok = torch.arange(own_len)[None, :] >= pad[:, None]  # [B, own]
    causal = torch.arange(own_len)[None, :] <= torch.arange(own_len)[:, None]  # [q, own]
    allowed_own = own_ok[:, None, None, :] & causal[None, None]
    allowed = torch.cat(
        [torch.ones(batch, 1, q_len, prefix_len, dtype=torch.bool), allowed_own], -1
    )
    with prefix_scope([(pk, pv)]):
        out, _ = prefix_attention_forward(Layer(), q, k, v, allowed)
    full_k = torch.cat([pk.expand(batch, -1, -1, -1), k], 2)
    full_v = torch.cat([pv.expand(batch, -1, -1, -1), v], 2)
    expected = reference(q, full_k, full_v, allowed)
    assert torch.allclose(out, expected, atol=1e-5)
    # Without a mask (no padding) the own part is causal.
    with prefix_scope([(pk, pv)]):
        out, _ = prefix_attention_forward(Layer(), q, k, v, None)
    allowed_nopad = torch.cat(
        [torch.ones(1, 1, q_len, prefix_len, dtype=torch.bool), causal[None, None]], -1
    )
    assert torch.allclose(
        out, reference(q, full_k, full_v, allowed_nopad.expand(batch, -1, -1, -1)), atol=1e-5
    )


def test_without_prefix_it_is_sdpa():
    g = torch.Generator().manual_seed(1)
    q = torch.randn(2, 6, 1, 8, generator=g)
    k = torch.randn(2, 2, 4, 8, generator=g)
    v = torch.randn(2, 2, 4, 8, generator=g)
    out, _ = prefix_attention_forward(Layer(), q, k, v, None)
    assert torch.allclose(
        out, reference(q, k, v, torch.ones(2, 1, 1, 4, dtype=torch.bool)), atol=1e-5
    )


def test_tiny_backend_uses_prefix_attention(tiny_backend):
    assert tiny_backend.describe()["attention"] == "newseval_prefix"
