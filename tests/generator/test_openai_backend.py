"""The OpenAI-compatible backend against a stand-in server on 127.0.0.1."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from generator import BackendError, DecodingSettings, Target, plan_batches, run_batch
from generator.backends.openai import OpenAIBackend
from generator.registry import parse_registry

TARGETS = {"a": Target("a", "Title A", "Sub A.", "Body.")}


class StandIn(BaseHTTPRequestHandler):
    """Answers according to the queue in ``server.script`` (one item per request):
    "ok", "slow", "429", "500", "bad-json", "400", "no-choices"."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.requests.append((self.path, body, self.headers.get("Authorization")))
        action = server.script.pop(0) if server.script else "ok"
        if action == "slow":
            time.sleep(0.5)
            action = "ok"
        if action in ("429", "500", "400"):
            payload = b'{"error": "nope"}'
            self.send_response(int(action))
            if action == "429":
                self.send_header("Retry-After", "0")
        elif action == "bad-json":
            payload = b'{"choices": [oops'
            self.send_response(200)
        else:
            chat = self.path.endswith("/chat/completions")
            text = f"Generated body seed {body['seed']}."
            choice = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            data = {
                "id": "cmpl-1",
                "model": body["model"],
                "choices": []
                if action == "no-choices"
                else [{**choice, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7},
            }
            payload = json.dumps(data).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    srv.script, srv.requests = [], []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def make_backend(server, monkeypatch):
    monkeypatch.setenv("STANDIN_KEY", "secret")
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    entry = parse_registry(
        f'[models.remote]\nbackend = "openai"\nurl = "{url}"\nmodel = "served"\n'
        'api_key_env = "STANDIN_KEY"\nparams = 7\n'
    )["remote"]
    sleeps = []

    def make(**kw):
        backend = OpenAIBackend(
            entry, sleep=sleeps.append, **{"timeout": 0.2, "max_retries": 3, "backoff": 0.5, **kw}
        )
        backend.sleeps = sleeps
        return backend

    return make


SAMPLED = DecodingSettings(temperature=0.7, top_k=5, max_new_tokens=20)


def one_batch(backend, fmt="plain", decoding=SAMPLED):
    batch = plan_batches(TARGETS.values(), candidates=2, batch_size=2, seed=1)[0]
    return run_batch(
        backend, batch, targets_by_key=TARGETS, context=[], prompt_format=fmt, decoding=decoding
    )


def test_plain_and_chat_requests(server, make_backend):
    backend = make_backend()
    cands = one_batch(backend)
    path, body, auth = server.requests[0]
    assert path == "/v1/completions" and auth == "Bearer secret"
    assert body["prompt"] == "Title: Title A\nSubtitle: Sub A.\nArticle:"
    assert body["model"] == "served" and body["top_k"] == 5 and body["stop"] == ["\nTitle:"]
    assert "repetition_penalty" not in body
    assert cands[0].text.startswith("Generated body seed")
    assert cands[0].provenance["backend"] == "openai" and cands[0].provenance["new_tokens"] == 7
    assert {c.provenance["seed"] for c in cands} == {r[1]["seed"] for r in server.requests}
    one_batch(backend, fmt="chat")
    path, body, _ = server.requests[-1]
    assert path == "/v1/chat/completions" and body["messages"][0]["role"] == "user"


def test_retries_429_500_and_timeouts_with_backoff(server, make_backend):
    backend = make_backend()
    server.script = ["429", "500", "slow"]
    cands = one_batch(backend)
    assert len(cands) == 2 and len(server.requests) == 5
    assert backend.sleeps == [0.0, 1.0, 2.0]  # Retry-After: 0, then 0.5 * 2**1, 0.5 * 2**2


def test_gives_up_after_max_retries(server, make_backend):
    backend = make_backend(max_retries=2)
    server.script = ["500", "500", "500"]
    with pytest.raises(BackendError, match="no answer after 3 attempts; last: HTTP 500"):
        one_batch(backend)


def test_client_errors_and_malformed_answers_fail_clearly(server, make_backend):
    backend = make_backend()
    server.script = ["400"]
    with pytest.raises(BackendError, match="HTTP 400"):
        one_batch(backend)
    server.script = ["bad-json"]
    with pytest.raises(BackendError, match="malformed JSON"):
        one_batch(backend)
    server.script = ["no-choices"]
    with pytest.raises(BackendError, match="unexpected answer shape"):
        one_batch(backend)


def test_missing_api_key_is_reported(make_backend, monkeypatch):
    monkeypatch.delenv("STANDIN_KEY")
    with pytest.raises(BackendError, match="STANDIN_KEY is not set"):
        make_backend()


def test_connection_refused_is_retried_then_reported(make_backend, server):
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    entry = parse_registry(
        f'[models.gone]\nbackend = "openai"\nurl = "http://127.0.0.1:{port}/v1"\nmodel = "m"\n'
    )["gone"]
    backend = OpenAIBackend(entry, sleep=lambda s: None, timeout=0.2, max_retries=1)
    with pytest.raises(BackendError, match="connection error"):
        one_batch(backend)
