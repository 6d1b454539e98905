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
        with server.lock:
            server.requests.append((self.path, body, self.headers.get("Authorization")))
            action = server.script.pop(0) if server.script else "ok"
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            self.answer(server, body, action)
        finally:
            with server.lock:
                server.in_flight -= 1

    def answer(self, server, body, action):
        if server.delay:
            time.sleep(server.delay)
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
            n = body["n"] if server.n_support else 1
            choices = []
            for index in range(n):
                text = f"Generated body seed {body['seed']} choice {index}."
                choice = (
                    {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
                )
                if body.get("logprobs") and chat:
                    top = [{"token": "x", "logprob": -2.0}] * body["top_logprobs"]
                    choice["logprobs"] = {
                        "content": [
                            {"token": "Gen", "logprob": -0.25, "top_logprobs": top},
                            {"token": "erated", "logprob": float("-inf"), "top_logprobs": top},
                        ]
                    }
                elif body.get("logprobs") is not None and not chat:
                    choice["logprobs"] = {
                        "tokens": ["Gen", "erated", " body"],
                        "token_logprobs": [-0.25, -1.5, -9999.0],
                        "top_logprobs": [{"Gen": -0.25, "x": -2.0}] * 3,
                        "text_offset": [0, 3, 9],
                    }
                choices.append({**choice, "index": index, "finish_reason": "length"})
            data = {
                "id": "cmpl-1",
                "model": body["model"],
                "system_fingerprint": "standin-1.0",
                "choices": [] if action == "no-choices" else choices,
                "usage": {"prompt_tokens": 11, "completion_tokens": 7 * n},
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
    srv.lock, srv.in_flight, srv.max_in_flight = threading.Lock(), 0, 0
    srv.n_support, srv.delay = True, 0.0
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def make_backend(server, monkeypatch):
    monkeypatch.setenv("STANDIN_KEY", "secret")
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    sleeps = []

    def make(extra_toml="", **kw):
        entry = parse_registry(
            f'[models.remote]\nbackend = "openai"\nurl = "{url}"\nmodel = "served"\n'
            f'api_key_env = "STANDIN_KEY"\nparams = 7\n{extra_toml}'
        )["remote"]
        backend = OpenAIBackend(
            entry, sleep=sleeps.append, **{"timeout": 0.2, "max_retries": 3, "backoff": 0.5, **kw}
        )
        backend.sleeps = sleeps
        return backend

    return make


SAMPLED = DecodingSettings(temperature=0.7, top_k=5, max_new_tokens=20)


def one_batch(backend, fmt="plain", decoding=SAMPLED, targets=TARGETS, candidates=2):
    size = len(targets) * candidates
    batch = plan_batches(targets.values(), candidates=candidates, batch_size=size, seed=1)[0]
    return run_batch(
        backend, batch, targets_by_key=targets, context=[], prompt_format=fmt, decoding=decoding
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
    assert cands[0].provenance["backend"] == "openai"
    # Both candidates of the target come from one request with n = 2 and the first one's seed.
    assert len(server.requests) == 1 and body["n"] == 2 and "logprobs" not in body
    assert body["seed"] == cands[0].provenance["seed"] == cands[1].provenance["request_seed"]
    assert [c.provenance["choice_index"] for c in cands] == [0, 1]
    assert cands[0].text != cands[1].text
    assert cands[0].provenance["system_fingerprint"] == "standin-1.0"
    assert cands[0].provenance["server_model"] == "served"
    assert cands[0].provenance["request_completion_tokens"] == 14
    one_batch(backend, fmt="chat")
    path, body, _ = server.requests[-1]
    assert path == "/v1/chat/completions" and body["messages"][0]["role"] == "user"


def test_retries_429_500_and_timeouts_with_backoff(server, make_backend):
    backend = make_backend()
    server.script = ["429", "500", "slow"]
    cands = one_batch(backend)
    assert len(cands) == 2 and len(server.requests) == 4
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


def test_server_without_n_gets_one_request_per_candidate_with_its_own_seed(server, make_backend):
    server.n_support = False
    backend = make_backend()
    cands = one_batch(backend, candidates=3)
    assert [r[1]["n"] for r in server.requests] == [3, 1, 1]
    assert [c.provenance["seed"] for c in cands] == [c.provenance["request_seed"] for c in cands]
    assert len({c.text for c in cands}) == 3 and backend.n_supported is False
    server.requests.clear()
    one_batch(backend, candidates=2)
    assert [r[1]["n"] for r in server.requests] == [1, 1]  # remembered


def many_targets(count):
    return {f"t{i}": Target(f"t{i}", f"Title {i}", f"Sub {i}.", "Body.") for i in range(count)}


@pytest.mark.parametrize("concurrency", [1, 4])
def test_requests_in_flight_up_to_concurrency(server, make_backend, concurrency):
    server.delay = 0.15
    backend = make_backend(extra_toml=f"concurrency = {concurrency}\n", timeout=5)
    assert backend.concurrency == concurrency
    targets = many_targets(8)
    cands = one_batch(backend, targets=targets, candidates=1)
    assert [c.target_key for c in cands] == sorted(targets)  # plan order kept
    assert all(c.text.startswith(f"Generated body seed {c.provenance['seed']}") for c in cands)
    assert server.max_in_flight == concurrency
    assert cands[0].provenance["concurrency"] == concurrency
    backend.close()


def test_one_failed_request_fails_the_batch(server, make_backend):
    backend = make_backend(extra_toml="concurrency = 4\n")
    server.script = ["ok", "400"]
    with pytest.raises(BackendError, match="HTTP 400"):
        one_batch(backend, targets=many_targets(4), candidates=1)


def test_logprobs_are_asked_for_and_kept_on_both_endpoints(server, make_backend):
    backend = make_backend(extra_toml="logprobs = 2\n")
    cands = one_batch(backend)
    body = server.requests[-1][1]
    assert body["logprobs"] == 2
    lp = cands[1].provenance["logprobs"]
    assert lp["tokens"] == ["Gen", "erated", " body"]
    assert lp["token_logprobs"] == [-0.25, -1.5, -9999.0]
    assert lp["top_logprobs"][0] == [["Gen", -0.25], ["x", -2.0]]
    assert cands[1].provenance["new_tokens"] == 3  # counted per choice when n > 1
    cands = one_batch(backend, fmt="chat")
    body = server.requests[-1][1]
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    lp = cands[0].provenance["logprobs"]
    assert lp["tokens"] == ["Gen", "erated"] and lp["token_logprobs"] == [-0.25, None]
    assert lp["top_logprobs"][1] == [["x", -2.0], ["x", -2.0]]
    json.dumps(cands[0].provenance, allow_nan=False)  # storable as JSON
