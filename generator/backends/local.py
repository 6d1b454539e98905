"""Local models through transformers: a Hugging Face folder or a GGUF file, on CPU or GPU."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..prompts import Prompt
from ..registry import ModelEntry, file_sha256, resolve_dtype, resolve_model_path
from ..settings import DecodingSettings
from ..text import _NEXT_ARTICLE
from .base import BackendError, Completion

_CHAT_SLOT = "\u2063NEWSEVAL-CONTENT\u2063"
_PREFIX_CACHE_SIZE = 4
_STOP_WINDOW = 8  # tokens decoded to look for a new "Title:" line


def _offline() -> None:
    # Nothing may reach a model hub: every load is from a local path.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


class TransformersBackend:
    """A causal LM loaded with transformers, decoded by :func:`generator.decoding.decode_batch`.

    Keeps the prefilled cache of the last few shared contexts (one per condition), so every
    batch of a condition starts from the same prefix without recomputing it.
    """

    def __init__(
        self,
        entry: ModelEntry,
        *,
        threads: int | None = None,
        device: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        _offline()
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.entry = entry
        self.path = Path(path) if path is not None else resolve_model_path(entry)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = resolve_dtype(entry.dtype, self.device)
        if (
            self.dtype == "bfloat16"
            and self.device == "cuda"
            and not torch.cuda.is_bf16_supported()
        ):
            self.dtype = "float16" if entry.dtype == "auto" else self.dtype
        dtype = getattr(torch, self.dtype)
        if self.path.is_file() and self.path.suffix == ".gguf":
            folder, kwargs = str(self.path.parent), {"gguf_file": self.path.name}
        else:
            folder, kwargs = str(self.path), {}
        start = time.perf_counter()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
            self.model = AutoModelForCausalLM.from_pretrained(
                folder, local_files_only=True, dtype=dtype, **kwargs
            )
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load model {entry.name!r} from {self.path}: {exc}") from exc
        self.model.to(self.device).eval()
        self.attention = self._use_prefix_attention()
        self.load_seconds = time.perf_counter() - start
        self._versions = {"torch": torch.__version__, "transformers": transformers.__version__}
        self.eos_ids = self._eos_ids()
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else min(self.eos_ids)
        self._prefixes: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._sha256: str | None = None

    def _use_prefix_attention(self) -> str:
        """Switch full-attention-only models to shared-prefix attention (see
        :mod:`generator.cascade`); others (sliding windows, e.g. Gemma 3) keep their own.
        ``NEWSEVAL_PREFIX_ATTENTION=0`` turns it off."""
        from transformers.cache_utils import DynamicCache, DynamicLayer

        current = self.model.config._attn_implementation
        if os.environ.get("NEWSEVAL_PREFIX_ATTENTION", "1") == "0" or current != "sdpa":
            return current
        if not all(
            type(layer) is DynamicLayer for layer in DynamicCache(config=self.model.config).layers
        ):
            return current
        from ..cascade import IMPLEMENTATION

        self.model.set_attn_implementation(IMPLEMENTATION)
        return self.model.config._attn_implementation

    def _eos_ids(self) -> list[int]:
        ids: set[int] = set()
        configured = self.model.generation_config.eos_token_id
        if isinstance(configured, int):
            ids.add(configured)
        elif configured:
            ids.update(int(i) for i in configured)
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        for token in self.entry.eos_tokens:
            token_id = self.tokenizer.convert_tokens_to_ids(token)
            if token_id is None or token_id == self.tokenizer.unk_token_id:
                raise BackendError(f"model {self.entry.name!r}: unknown eos token {token!r}")
            ids.add(int(token_id))
        if not ids:
            raise BackendError(f"model {self.entry.name!r} has no end-of-text token")
        return sorted(ids)

    @property
    def weights_sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return self._sha256

    def describe(self) -> dict[str, Any]:
        import torch

        return {
            "model": self.entry.name,
            "backend": "transformers",
            "model_path": str(self.path),
            "model_sha256": self.weights_sha256,
            "params": self.entry.params,
            "dtype": self.dtype,
            "dtype_requested": self.entry.dtype,
            "device": self.device,
            "attention": self.attention,
            "threads": torch.get_num_threads(),
            **self._versions,
        }

    def encode(self, prompt: Prompt) -> tuple[list[int], list[int]]:
        """Token ids of the shared prefix and of the per-target suffix.

        The two parts are tokenized separately and concatenated, so the prefix's cache is
        valid for every target. ``plain``: prefix = (BOS if the tokenizer adds one) + context;
        ``chat``: the chat template is rendered around a placeholder and split there, so the
        prefix is the template's head plus the context and the suffix is the target plus the
        template's tail (end of the user turn and the assistant's generation prompt).
        """
        tok = self.tokenizer
        if prompt.format == "plain":
            prefix = tok(prompt.context_text, add_special_tokens=True)["input_ids"]
            suffix = tok(prompt.target_text, add_special_tokens=False)["input_ids"]
            return list(prefix), list(suffix)
        if not getattr(tok, "chat_template", None):
            raise BackendError(f"model {self.entry.name!r} has no chat template")
        rendered = tok.apply_chat_template(
            [{"role": "user", "content": _CHAT_SLOT}], tokenize=False, add_generation_prompt=True
        )
        head, _, tail = rendered.partition(_CHAT_SLOT)
        prefix = tok(head + prompt.context_text, add_special_tokens=False)["input_ids"]
        suffix = tok(prompt.target_text + tail, add_special_tokens=False)["input_ids"]
        return list(prefix), list(suffix)

    def _prefix(self, ids: list[int]) -> tuple[Any, bool]:
        from ..decoding import prefill_prefix

        key = tuple(ids)
        with self._lock:
            if key in self._prefixes:
                self._prefixes.move_to_end(key)
                return self._prefixes[key], True
        state = prefill_prefix(self.model, ids)
        with self._lock:
            self._prefixes[key] = state
            while len(self._prefixes) > _PREFIX_CACHE_SIZE:
                self._prefixes.popitem(last=False)
        return state, False

    def _stops_at_next_article(self, tokens: Sequence[int]) -> bool:
        tail = self.tokenizer.decode(list(tokens[-_STOP_WINDOW:]), skip_special_tokens=True)
        return _NEXT_ARTICLE.search(tail) is not None

    def complete(
        self,
        prompts: Sequence[Prompt],
        seeds: Sequence[int],
        decoding: DecodingSettings,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Completion]:
        import torch

        from ..decoding import decode_batch

        if len(prompts) != len(seeds):
            raise ValueError("one seed per prompt is required")
        if not prompts:
            return []
        encoded = [self.encode(p) for p in prompts]
        prefix_ids = encoded[0][0]
        if any(e[0] != prefix_ids for e in encoded):
            raise ValueError("all prompts of one call must share their context")
        start = time.perf_counter()
        prefix, hit = self._prefix(prefix_ids)
        generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
        rows = decode_batch(
            self.model,
            [e[1] for e in encoded],
            settings=decoding,
            generators=generators,
            eos_ids=self.eos_ids,
            pad_id=self.pad_id,
            prefix=prefix,
            stop=self._stops_at_next_article if decoding.stop_at_next_article else None,
            on_step=progress,
        )
        seconds = time.perf_counter() - start
        eos = set(self.eos_ids)
        completions = []
        for (pre, suf), row in zip(encoded, rows, strict=True):
            tokens = list(row.tokens)
            if tokens and tokens[-1] in eos and row.finish_reason == "eos":
                tokens = tokens[:-1]
            completions.append(
                Completion(
                    text=self.tokenizer.decode(tokens, skip_special_tokens=True),
                    prompt_tokens=len(pre) + len(suf),
                    new_tokens=len(row.tokens),
                    finish_reason=row.finish_reason,
                    seconds=seconds,
                    extra={
                        "prefix_tokens": len(pre),
                        "prefix_cache_hit": hit,
                        "prefix_seconds": 0.0 if hit else prefix.seconds,
                        "token_ids": list(row.tokens),
                    },
                )
            )
        return completions
