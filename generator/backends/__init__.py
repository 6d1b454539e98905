"""Backends behind one interface (:class:`~generator.backends.base.Backend`), and a per-process
cache of opened backends so a worker loads each model once."""

from __future__ import annotations

import threading
from typing import Any

from ..registry import ModelEntry
from .base import Backend, BackendError, Completion

__all__ = ["Backend", "BackendError", "Completion", "open_backend", "clear_backend_cache"]

_OPEN: dict[tuple[Any, ...], Backend] = {}
_LOCK = threading.Lock()


def open_backend(
    entry: ModelEntry, *, threads: int | None = None, device: str | None = None, **options: Any
) -> Backend:
    """The backend for a registry entry, loaded once per process and reused.

    ``threads`` sets torch's intra-op thread count (process-wide) for local models; ``device``
    is ``"cpu"``, ``"cuda"``... (default: CUDA when available). ``options`` go to the backend's
    constructor (for openai: ``timeout``, ``max_retries``, ``backoff``).
    """
    key = (entry, threads, device, tuple(sorted(options.items())))
    with _LOCK:
        if key in _OPEN:
            return _OPEN[key]
        if entry.backend == "transformers":
            from .local import TransformersBackend

            backend: Backend = TransformersBackend(entry, threads=threads, device=device, **options)
        elif entry.backend == "openai":
            from .openai import OpenAIBackend

            backend = OpenAIBackend(entry, **options)
        else:
            raise BackendError(f"unknown backend {entry.backend!r}")
        _OPEN[key] = backend
        return backend


def clear_backend_cache() -> None:
    """Forget opened backends (tests; freeing memory in a long-lived worker)."""
    with _LOCK:
        _OPEN.clear()
