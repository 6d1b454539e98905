"""Any OpenAI-compatible completion server (vLLM, llama.cpp's server, a hosted API).

``plain`` prompts go to ``POST {url}/completions``; ``chat`` prompts to
``POST {url}/chat/completions`` as one user message. Up to the registry's ``concurrency``
requests are in flight at once (a thread pool; default 8). The candidates of one target in a
batch are asked for in one request with ``n`` and the first candidate's seed; a server that
answers with fewer choices than asked is sent one request per missing candidate (with its own
seed) from then on. Timeouts, connection errors, 429 and 5xx answers are retried with
exponential backoff (honouring ``Retry-After``); other 4xx answers and malformed JSON fail at
once with a :class:`BackendError` that says what came back.

Provenance records the server's model id, its ``system_fingerprint`` (vLLM names its version
there), the request's seed, ``n`` and choice index, and, where the registry entry sets
``logprobs``, the sampled tokens' log-probabilities (and that many alternatives per token).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from ..prompts import Prompt
from ..registry import ModelEntry
from ..settings import DecodingSettings
from .base import BackendError, Completion

_STOP = ["\nTitle:"]
_MAX_RETRY_AFTER = 60.0


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class _Request:
    """One HTTP request: the prompt, the units (indices into the call's prompts) it answers,
    and the seed it carries (the first unit's)."""

    prompt: Prompt
    units: tuple[int, ...]
    seed: int


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_logprobs(raw: Any, chat: bool) -> dict[str, list] | None:
    """Token log-probabilities of one choice, in one shape for both endpoints:
    ``{"tokens": [...], "token_logprobs": [...], "top_logprobs": [[[token, logprob], ...], ...]}``
    (non-finite values become ``None``, which JSON can store). ``None`` when absent.

    >>> parse_logprobs({"content": [{"token": "A", "logprob": -0.5, "top_logprobs": []}]}, True)
    {'tokens': ['A'], 'token_logprobs': [-0.5], 'top_logprobs': [[]]}
    >>> parse_logprobs({"tokens": ["A"], "token_logprobs": [-1.0], "top_logprobs": None}, False)
    {'tokens': ['A'], 'token_logprobs': [-1.0], 'top_logprobs': []}
    """
    if not isinstance(raw, dict):
        return None
    if chat:
        content = raw.get("content")
        if not isinstance(content, list):
            return None
        return {
            "tokens": [str(t.get("token", "")) for t in content],
            "token_logprobs": [_finite(t.get("logprob")) for t in content],
            "top_logprobs": [
                [
                    [str(a.get("token", "")), _finite(a.get("logprob"))]
                    for a in t.get("top_logprobs")
                ]
                if isinstance(t.get("top_logprobs"), list)
                else []
                for t in content
            ],
        }
    tokens = raw.get("tokens")
    if not isinstance(tokens, list):
        return None
    tops = raw.get("top_logprobs") or []
    return {
        "tokens": [str(t) for t in tokens],
        "token_logprobs": [_finite(v) for v in raw.get("token_logprobs") or []],
        "top_logprobs": [
            [[str(k), _finite(v)] for k, v in top.items()] if isinstance(top, dict) else []
            for top in tops
        ],
    }


class OpenAIBackend:
    """Completions from an OpenAI-compatible server, many requests in flight at once."""

    def __init__(
        self,
        entry: ModelEntry,
        *,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        concurrency: int | None = None,
    ) -> None:
        if not entry.url or not entry.model:
            raise BackendError(f"model {entry.name!r}: an openai backend needs url and model")
        headers = {"Content-Type": "application/json"}
        if entry.api_key_env:
            key = os.environ.get(entry.api_key_env)
            if not key:
                raise BackendError(
                    f"model {entry.name!r}: environment variable {entry.api_key_env} is not set"
                )
            headers["Authorization"] = f"Bearer {key}"
        self.entry = entry
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = max(1, int(concurrency or entry.concurrency))
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=entry.url.rstrip("/") + "/",
            timeout=timeout,
            headers=headers,
            transport=transport,
            limits=httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            ),
        )
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.n_supported = True  # until a server answers an n > 1 request with fewer choices

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        self._client.close()

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.entry.name,
            "backend": "openai",
            "url": self.entry.url,
            "server_model": self.entry.model,
            "model_sha256": None,
            "params": self.entry.params,
            "concurrency": self.concurrency,
            "httpx": httpx.__version__,
        }

    def _body(
        self, prompt: Prompt, seed: int, n: int, decoding: DecodingSettings
    ) -> tuple[str, dict]:
        body: dict[str, Any] = {
            "model": self.entry.model,
            "max_tokens": decoding.max_new_tokens,
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "seed": seed,
            "n": n,
        }
        # Not in OpenAI's API, but accepted by vLLM and llama.cpp; sent only when in use.
        if decoding.top_k:
            body["top_k"] = decoding.top_k
        if decoding.repetition_penalty != 1.0:
            body["repetition_penalty"] = decoding.repetition_penalty
        if decoding.stop_at_next_article:
            body["stop"] = _STOP
        chat = prompt.format == "chat"
        if self.entry.logprobs is not None:
            if chat:
                body["logprobs"] = True
                body["top_logprobs"] = self.entry.logprobs
            else:
                body["logprobs"] = self.entry.logprobs
        if chat:
            body["messages"] = [{"role": "user", "content": prompt.text}]
            return "chat/completions", body
        body["prompt"] = prompt.text
        return "completions", body

    def _post(self, endpoint: str, body: dict) -> dict:
        last_error = ""
        for attempt in range(self.max_retries + 1):
            wait = self.backoff * (2**attempt)
            try:
                response = self._client.post(endpoint, json=body)
            except httpx.TimeoutException as exc:
                last_error = f"timeout ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last_error = f"connection error ({exc})"
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    last_error = f"HTTP {status}: {response.text[:200]}"
                    retry_after = response.headers.get("Retry-After")
                    if retry_after:
                        try:
                            wait = min(max(float(retry_after), 0.0), _MAX_RETRY_AFTER)
                        except ValueError:
                            pass
                elif status >= 400:
                    raise BackendError(
                        f"{self.entry.name}: server refused the request, HTTP {status}: "
                        f"{response.text[:500]}"
                    )
                else:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise BackendError(
                            f"{self.entry.name}: malformed JSON from server: "
                            f"{response.text[:200]!r}"
                        ) from exc
            if attempt < self.max_retries:
                self._sleep(wait)
        raise BackendError(
            f"{self.entry.name}: no answer after {self.max_retries + 1} attempts; "
            f"last: {last_error}"
        )

    def _parse(self, data: Any, chat: bool) -> tuple[list[dict], dict]:
        """The answer's choices, in index order, and its usage."""
        try:
            choices = sorted(data["choices"], key=lambda c: int(c.get("index", 0)))
            if not choices:
                raise IndexError("no choices")
            for choice in choices:
                text = choice["message"]["content"] if chat else choice["text"]
                if not isinstance(text, str):
                    raise TypeError("completion text is not a string")
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise BackendError(
                f"{self.entry.name}: unexpected answer shape ({exc}): {str(data)[:200]}"
            ) from exc
        return choices, data.get("usage") or {}

    def _send(self, request: _Request, decoding: DecodingSettings) -> list[Completion]:
        """One request; a completion per choice (possibly fewer than ``request.units``)."""
        chat = request.prompt.format == "chat"
        n = len(request.units)
        endpoint, body = self._body(request.prompt, request.seed, n, decoding)
        start = time.perf_counter()
        data = self._post(endpoint, body)
        seconds = time.perf_counter() - start
        choices, usage = self._parse(data, chat)
        completions = []
        for index, choice in enumerate(choices[:n]):
            text = choice["message"]["content"] if chat else choice["text"]
            reason = str(choice.get("finish_reason") or "unknown")
            if reason == "stop" and decoding.stop_at_next_article:
                reason = "stop_text_or_eos"
            logprobs = parse_logprobs(choice.get("logprobs"), chat)
            if n == 1:
                new_tokens = _int_or_none(usage.get("completion_tokens"))
            else:  # usage counts all choices together; the log-probabilities count one
                new_tokens = len(logprobs["tokens"]) if logprobs else None
            extra: dict[str, Any] = {
                "response_id": data.get("id"),
                "server_model": data.get("model"),
                "system_fingerprint": data.get("system_fingerprint"),
                "request_seed": request.seed,
                "request_n": n,
                "choice_index": index,
                "request_completion_tokens": _int_or_none(usage.get("completion_tokens")),
            }
            if logprobs is not None:
                extra["logprobs"] = logprobs
            completions.append(
                Completion(
                    text=text,
                    prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
                    new_tokens=new_tokens,
                    finish_reason=reason,
                    seconds=seconds,
                    extra=extra,
                )
            )
        return completions

    def _requests(self, prompts: Sequence[Prompt], seeds: Sequence[int]) -> list[_Request]:
        """Units with the same prompt share one request (``n``) while the server allows it."""
        if not self.n_supported:
            return [
                _Request(p, (i,), int(s))
                for i, (p, s) in enumerate(zip(prompts, seeds, strict=True))
            ]
        groups: dict[tuple[str, str], list[int]] = {}
        for i, prompt in enumerate(prompts):
            groups.setdefault((prompt.format, prompt.text), []).append(i)
        return [
            _Request(prompts[idx[0]], tuple(idx), int(seeds[idx[0]])) for idx in groups.values()
        ]

    def _map(self, requests: list[_Request], decoding: DecodingSettings) -> list[list[Completion]]:
        if self.concurrency == 1 or len(requests) == 1:
            return [self._send(r, decoding) for r in requests]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix="newseval-openai"
                )
            pool = self._pool
        futures = [pool.submit(self._send, r, decoding) for r in requests]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def complete(
        self,
        prompts: Sequence[Prompt],
        seeds: Sequence[int],
        decoding: DecodingSettings,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Completion]:
        if len(prompts) != len(seeds):
            raise ValueError("one seed per prompt is required")
        results: list[Completion | None] = [None] * len(prompts)
        requests = self._requests(prompts, seeds)
        for request, answer in zip(requests, self._map(requests, decoding), strict=True):
            for unit, completion in zip(request.units, answer, strict=False):
                results[unit] = completion
            if progress is not None:
                done = [c for c in results if c is not None]
                progress(sum(c.new_tokens or 0 for c in done), len(done))
        missing = [i for i, c in enumerate(results) if c is None]
        if missing:
            # The server gave fewer choices than ``n`` asked for: it does not do ``n``.
            self.n_supported = False
            retry = [_Request(prompts[i], (i,), int(seeds[i])) for i in missing]
            for request, answer in zip(retry, self._map(retry, decoding), strict=True):
                if not answer:
                    raise BackendError(f"{self.entry.name}: the server returned no choice")
                results[request.units[0]] = answer[0]
        return [c for c in results if c is not None]
