"""Deterministic batch plans and per-candidate seeds.

A plan depends only on the target keys, the number of candidates, the batch size and the study
seed, so a resumed run rebuilds the same plan and regenerates only the batches not yet stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkUnit:
    """One candidate to generate: which target, which of its candidates, with which seed."""

    target_key: str
    candidate_index: int
    seed: int


@dataclass(frozen=True)
class Batch:
    """Work units generated together in one forward-pass batch."""

    index: int
    units: tuple[WorkUnit, ...]

    @property
    def size(self) -> int:
        return len(self.units)


def candidate_seed(seed: int, target_key: str, candidate_index: int) -> int:
    """The seed of one candidate's ``torch.Generator``: a hash of the study seed, the target's
    key and the candidate index, so it does not depend on the batch the candidate lands in.

    >>> candidate_seed(1, "a", 0) == candidate_seed(1, "a", 0) != candidate_seed(1, "a", 1)
    True
    """
    material = f"newseval-candidate:{seed}:{target_key}:{candidate_index}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big") >> 1


def plan_batches(
    targets: Iterable[object], *, candidates: int, batch_size: int, seed: int
) -> list[Batch]:
    """Split ``candidates`` per target into batches of at most ``batch_size`` units.

    ``targets`` may be :class:`~generator.prompts.Target` objects or plain keys. Units are
    ordered by target key, then candidate index, whatever order the targets come in.

    >>> [b.size for b in plan_batches(["b", "a"], candidates=3, batch_size=4, seed=1)]
    [4, 2]
    """
    if candidates < 1:
        raise ValueError(f"candidates must be >= 1, got {candidates}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    keys = [t if isinstance(t, str) else t.key for t in targets]  # type: ignore[attr-defined]
    if len(set(keys)) != len(keys):
        raise ValueError("target keys must be unique")
    units = [
        WorkUnit(key, i, candidate_seed(seed, key, i))
        for key in sorted(keys)
        for i in range(candidates)
    ]
    return [
        Batch(index=n, units=tuple(units[start : start + batch_size]))
        for n, start in enumerate(range(0, len(units), batch_size))
    ]
