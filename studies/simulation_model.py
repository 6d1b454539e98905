"""How a simulated judge answers: signal detection with a bias, "I don't know" and lapses.

A judge sees a latent strength ``x ~ N(+d/2, 1)`` for a machine text and ``N(-d/2, 1)``
for a human one, with ``d`` the condition's true sensitivity (d'), and calls it machine
when ``x > c`` (``c > 0`` leans toward "human"). With probability ``idk`` they answer
"I don't know" regardless of ``x``. Hence, over balanced human and machine items, the
expected accuracy on non-neutral answers is

    0.5 * Phi(d/2 - c) + 0.5 * Phi(d/2 + c),

the number an analysis of the simulated study should recover. In the paired protocol
the judge compares two latent strengths and picks the human side correctly with
probability ``Phi(d / sqrt(2))``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass(frozen=True)
class JudgeModel:
    sensitivity: float = 1.0  # d'
    bias: float = 0.0  # criterion c; positive leans toward "human"
    idk: float = 0.05  # probability of "I don't know"
    read_ms: int = 0  # simulated reading time per item (sleep), 0 for speed
    attention_fail: float = 0.0  # probability of failing an attention check
    drop_out: float = 0.0  # probability of leaving after each item
    reload: float = 0.0  # probability of reloading an item page before answering

    def true_accuracy(self, protocol: str = "single") -> float:
        if protocol == "paired":
            return _phi(self.sensitivity / math.sqrt(2.0))
        d, c = self.sensitivity, self.bias
        return 0.5 * _phi(d / 2 - c) + 0.5 * _phi(d / 2 + c)

    def rate(self, is_machine: bool, rng: random.Random) -> int:
        """A five-point rating: 1 very likely human ... 5 very likely machine."""
        if rng.random() < self.idk:
            return 3
        x = rng.gauss(self.sensitivity / 2 if is_machine else -self.sensitivity / 2, 1.0)
        if x > self.bias:
            return 5 if x > self.bias + 1.0 else 4
        return 1 if x < self.bias - 1.0 else 2

    def choose(self, human_side: str, rng: random.Random) -> tuple[str, int]:
        """The side picked as human, and a confidence from 1 to 5."""
        diff = rng.gauss(self.sensitivity, math.sqrt(2.0))
        other = "right" if human_side == "left" else "left"
        side = human_side if diff > 0 else other
        confidence = min(5, 1 + int(abs(diff) // 0.6))
        return side, confidence


def parse_condition_models(text: str | None, default: JudgeModel) -> dict[str, JudgeModel]:
    """Parse ``name:key=value,key=value;name2:...`` into per-condition judge models."""
    out: dict[str, JudgeModel] = {}
    if not text:
        return out
    fields = {f for f in JudgeModel.__dataclass_fields__}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, _, settings = part.partition(":")
        values = {}
        for pair in settings.split(","):
            if not pair.strip():
                continue
            key, _, value = pair.partition("=")
            key = key.strip()
            if key not in fields:
                raise ValueError(f"unknown judge setting {key!r}; use {', '.join(sorted(fields))}")
            values[key] = int(value) if key == "read_ms" else float(value)
        out[name.strip()] = JudgeModel(**{**default.__dict__, **values})
    return out
