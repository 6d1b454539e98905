"""Any OpenAI-compatible completion server (vLLM, llama.cpp's server, a hosted API).

``plain`` prompts go to ``POST {url}/completions``; ``chat`` prompts to
``POST {url}/chat/completions`` as one user message. Timeouts, connection errors, 429 and 5xx
answers are retried with exponential backoff (honouring ``Retry-After``); other 4xx answers and
malformed JSON fail at once with a :class:`BackendError` that says what came back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
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


class OpenAIBackend:
    """Completions from an OpenAI-compatible server, one request per candidate."""

    def __init__(
        self,
        entry: ModelEntry,
        *,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
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
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=entry.url.rstrip("/") + "/",
            timeout=timeout,
            headers=headers,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.entry.name,
            "backend": "openai",
            "url": self.entry.url,
            "server_model": self.entry.model,
            "model_sha256": None,
            "params": self.entry.params,
            "httpx": httpx.__version__,
        }

    def _body(self, prompt: Prompt, seed: int, decoding: DecodingSettings) -> tuple[str, dict]:
        body: dict[str, Any] = {
            "model": self.entry.model,
            "max_tokens": decoding.max_new_tokens,
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "seed": seed,
            "n": 1,
        }
        # Not in OpenAI's API, but accepted by vLLM and llama.cpp; sent only when in use.
        if decoding.top_k:
            body["top_k"] = decoding.top_k
        if decoding.repetition_penalty != 1.0:
            body["repetition_penalty"] = decoding.repetition_penalty
        if decoding.stop_at_next_article:
            body["stop"] = _STOP
        if prompt.format == "chat":
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

    def _parse(self, data: Any, chat: bool) -> tuple[str, str, dict]:
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if chat else choice["text"]
            if not isinstance(text, str):
                raise TypeError("completion text is not a string")
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError(
                f"{self.entry.name}: unexpected answer shape ({exc}): {str(data)[:200]}"
            ) from exc
        usage = data.get("usage") or {}
        return text, str(choice.get("finish_reason") or "unknown"), usage

    def complete(
        self,
        prompts: Sequence[Prompt],
        seeds: Sequence[int],
        decoding: DecodingSettings,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Completion]:
        if len(prompts) != len(seeds):
            raise ValueError("one seed per prompt is required")
        completions: list[Completion] = []
        for prompt, seed in zip(prompts, seeds, strict=True):
            endpoint, body = self._body(prompt, int(seed), decoding)
            start = time.perf_counter()
            data = self._post(endpoint, body)
            text, reason, usage = self._parse(data, prompt.format == "chat")
            if reason == "stop" and decoding.stop_at_next_article:
                reason = "stop_text_or_eos"
            completions.append(
                Completion(
                    text=text,
                    prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
                    new_tokens=_int_or_none(usage.get("completion_tokens")),
                    finish_reason=reason,
                    seconds=time.perf_counter() - start,
                    extra={"response_id": data.get("id"), "server_model": data.get("model")},
                )
            )
            if progress is not None:
                progress(sum(c.new_tokens or 0 for c in completions), len(completions))
        return completions
