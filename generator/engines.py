"""A real inference engine on this machine: vLLM's CPU build serving SmolLM2 on 127.0.0.1.

``bin/setup-engine`` installs vLLM in its own virtual environment and converts the SmolLM2 GGUF
into a Hugging Face folder, both in :func:`engine_dir`; :class:`VLLMServer` starts and stops
the OpenAI-compatible server there. Used by the real-server test and ``bench/engine.py``; on a
GPU machine run ``vllm serve`` yourself (README, "Scaling out").

    python -m generator.engines serve --port 8000   # set up if needed, then serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE_DIR_ENV = "NEWSEVAL_ENGINE_DIR"
SERVED_NAME = "smollm2-135m"


def engine_dir() -> Path:
    """``$NEWSEVAL_ENGINE_DIR`` or ~/.cache/newseval/engines."""
    env = os.environ.get(ENGINE_DIR_ENV)
    return Path(env) if env else Path.home() / ".cache" / "newseval" / "engines"


def vllm_python() -> Path:
    return engine_dir() / "vllm-venv" / "bin" / "python"


def smollm2_folder() -> Path:
    return engine_dir() / "smollm2-135m-hf"


def compile_cache() -> Path:
    """vLLM's and torch inductor's caches (kept between runs, out of the home folder)."""
    return engine_dir() / "compile-cache"


def setup_engine(*, quiet: bool = False) -> None:
    """Run ``bin/setup-engine`` (minutes the first time, a fraction of a second when cached)."""
    subprocess.run(
        [str(ROOT / "bin" / "setup-engine")],
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EngineError(RuntimeError):
    """The engine could not be started or did not become ready."""


class VLLMServer:
    """``vllm.entrypoints.openai.api_server`` in a process group of its own.

    ``scratch`` takes the log and temporary files (by default they would go to /tmp); compiled
    kernels go to :func:`compile_cache`. ``enforce_eager`` skips graph compilation (ready in
    about 27 s instead of 76-105 s on 2 cores, with throughput within a few percent).
    """

    def __init__(
        self,
        *,
        scratch: Path,
        model_dir: Path | None = None,
        served_name: str = SERVED_NAME,
        port: int | None = None,
        kv_cache_gib: int = 1,
        max_model_len: int = 2048,
        enforce_eager: bool = True,
        dtype: str = "float32",
        log: Path | None = None,
    ) -> None:
        self.scratch = Path(scratch)
        self.model_dir = Path(model_dir) if model_dir else smollm2_folder()
        self.served_name = served_name
        self.port = port or free_port()
        self.kv_cache_gib = kv_cache_gib
        self.max_model_len = max_model_len
        self.enforce_eager = enforce_eager
        self.dtype = dtype
        self.log = Path(log) if log else self.scratch / "vllm.log"
        self.proc: subprocess.Popen | None = None
        self.ready_seconds: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        cmd = [
            str(vllm_python()),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_dir),
            "--served-model-name",
            self.served_name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dtype",
            self.dtype,
            "--max-model-len",
            str(self.max_model_len),
            "--disable-log-stats",
            # One process: the engine core and its worker in the API server's process, so
            # vLLM and torch are imported once rather than three times (startup is mostly that).
            "--distributed-executor-backend",
            "uni",
        ]
        if self.enforce_eager:
            cmd.append("--enforce-eager")
        return cmd

    def environment(self) -> dict[str, str]:
        (self.scratch / "tmp").mkdir(parents=True, exist_ok=True)
        cache = compile_cache()
        for sub in ("vllm", "inductor"):
            (cache / sub).mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
            "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
            # vLLM compiles two small sampling helpers with torch.compile on the first request
            # that uses them (log-probabilities, random sampling): C++ built by g++, over a
            # minute on 2 loaded cores, and only partly saved by the cache. Run them eagerly.
            "TORCHDYNAMO_DISABLE": "1",
            "VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_gib),
            "VLLM_CACHE_ROOT": str(cache / "vllm"),
            "TORCHINDUCTOR_CACHE_DIR": str(cache / "inductor"),
            "TMPDIR": str(self.scratch / "tmp"),
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }

    def start(self, *, timeout: float = 240.0) -> float:
        """Start the server and wait until it answers; the seconds that took."""
        if not vllm_python().exists() or not self.model_dir.exists():
            raise EngineError(f"no engine in {engine_dir()}: run bin/setup-engine")
        self.scratch.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise EngineError(
                    f"vLLM exited with {self.proc.returncode}; log {self.log}:\n{self.tail()}"
                )
            if self.ready():
                seconds = time.monotonic() - started
                self.ready_seconds.append(seconds)
                return seconds
            time.sleep(0.5)
        self.kill()
        raise EngineError(f"vLLM not ready after {timeout:.0f} s; log {self.log}:\n{self.tail()}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/models", timeout=2) as answer:
                data = json.load(answer)
        except (OSError, urllib.error.URLError, ValueError):
            return False
        return any(m.get("id") == self.served_name for m in data.get("data", []))

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _signal(self, sig: int, wait: float) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def kill(self) -> None:
        """SIGKILL the whole process group (the API server and its engine process)."""
        self._signal(signal.SIGKILL, 10)

    def stop(self) -> None:
        self._signal(signal.SIGTERM, 20)

    def __enter__(self) -> VLLMServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def registry_entry(
    name: str, url: str, *, model: str = SERVED_NAME, concurrency: int = 8, logprobs=None
) -> str:
    """A registry table for a served model (TOML text)."""
    lines = [
        f"[models.{name}]",
        'backend = "openai"',
        f'url = "{url}"',
        f'model = "{model}"',
        "params = 134515008",
        f"concurrency = {concurrency}",
    ]
    if logprobs is not None:
        lines.append(f"logprobs = {logprobs}")
    return "\n".join(lines) + "\n"


def engine_version() -> str:
    """The installed vLLM's version, asked of the engine's own Python."""
    out = subprocess.run(
        [
            str(vllm_python()),
            "-c",
            "from importlib.metadata import version; print(version('vllm-cpu'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve SmolLM2 with vLLM's CPU build.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="set up if needed, then serve until interrupted")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--scratch", type=Path, default=engine_dir() / "scratch")
    args = parser.parse_args(argv)
    setup_engine()
    server = VLLMServer(scratch=args.scratch, port=args.port)
    seconds = server.start()
    print(
        f"vLLM {engine_version()} serving {SERVED_NAME} at {server.url} (ready in {seconds:.0f} s)"
    )
    print(registry_entry("local-vllm", server.url), end="")
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
