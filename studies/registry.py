"""The bridge to the generator's model registry."""

from __future__ import annotations

import datetime as dt

from studies.spec import ModelInfo


def registry_models() -> dict[str, ModelInfo]:
    from generator import load_registry

    out: dict[str, ModelInfo] = {}
    for name, entry in load_registry().items():
        cutoff = getattr(entry, "training_cutoff", None)
        if isinstance(cutoff, str) and cutoff:
            cutoff = dt.date.fromisoformat(cutoff[:10])
        out[name] = ModelInfo(params=getattr(entry, "params", None), training_cutoff=cutoff)
    return out
