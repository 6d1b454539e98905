import pytest
import torch

from generator import DecodingSettings
from generator.sampling import (
    processors_for,
    repetition_penalty,
    sample_next,
    temperature,
    top_k,
    top_p,
)

LOGITS = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 3.0, -2.0, 1.0]])
NONE = torch.full((2, 1), -1)


def test_temperature_scales():
    assert torch.allclose(temperature(NONE, LOGITS, 2.0), LOGITS / 2)
    with pytest.raises(ValueError):
        temperature(NONE, LOGITS, 0.0)


def test_top_k_keeps_k_best():
    out = top_k(NONE, LOGITS, 2)
    assert torch.isinf(out).sum(dim=1).tolist() == [2, 2]
    assert out[0, 0] == 2.0 and out[1, 1] == 3.0
    assert torch.equal(top_k(NONE, LOGITS, 0), LOGITS)


def test_top_p_keeps_smallest_nucleus():
    probs = torch.softmax(LOGITS, -1)
    out = top_p(NONE, LOGITS, 0.5)
    kept = ~torch.isinf(out)
    assert kept[0].tolist() == [True, False, False, False]  # p(0) = 0.64 >= 0.5
    assert kept[1].sum() == 1
    out = top_p(NONE, LOGITS, float(probs[0, 0]) + 0.01)
    assert (~torch.isinf(out[0])).sum() == 2
    assert torch.equal(top_p(NONE, LOGITS, 1.0), LOGITS)


def test_repetition_penalty_ignores_padding_and_signs():
    ids = torch.tensor([[0, 3, -1], [-1, -1, -1]])
    out = repetition_penalty(ids, LOGITS, 2.0)
    assert out[0].tolist() == [1.0, 1.0, 0.0, -2.0]
    assert torch.equal(out[1], LOGITS[1])  # padding (-1) must not penalise token 0
    assert torch.equal(LOGITS, torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 3.0, -2.0, 1.0]]))


def test_processor_chain_and_greedy():
    assert processors_for(DecodingSettings(temperature=0)) == []
    assert (
        len(
            processors_for(
                DecodingSettings(temperature=0.7, top_k=5, top_p=0.9, repetition_penalty=1.2)
            )
        )
        == 4
    )
    assert sample_next(LOGITS, [None, None], greedy=True).tolist() == [0, 1]


def test_sampling_depends_only_on_each_rows_generator():
    logits = torch.zeros((3, 50))

    def draw(seeds):
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        return [sample_next(logits[: len(seeds)], gens, greedy=False).tolist() for _ in range(5)]

    a = draw([1, 2, 3])
    b = draw([1, 2, 3])
    c = draw([9, 2])
    assert a == b
    assert [row[1] for row in a] == [row[1] for row in c]
