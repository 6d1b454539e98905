"""Convert a GGUF model file into a Hugging Face model folder (float32 safetensors + tokenizer).

Inference servers such as vLLM load Hugging Face folders; SmolLM2 ships only as a GGUF. Run as a
script by the engine's own Python (``bin/setup-engine``), so this file imports nothing from the
``generator`` package: ``python generator/gguf_to_hf.py MODEL.gguf OUTPUT_DIR``.

Transformers dequantises the GGUF on load but refuses to save a model that still carries its
``quantization_config``; so a fresh float32 model is built from the config without it and given
the loaded weights (the keys match one to one).
"""

from __future__ import annotations

import sys
from pathlib import Path


def convert(gguf_path: str | Path, output_dir: str | Path) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf_path, output_dir = Path(gguf_path), Path(output_dir)
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    loaded = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, local_files_only=True, dtype=torch.float32
    )
    config = AutoConfig.from_pretrained(folder, gguf_file=name, local_files_only=True)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.torch_dtype = torch.float32
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    # Tied output embeddings may be absent from one side; anything else is an error.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise RuntimeError(f"weights do not match: missing {missing}, unexpected {unexpected}")
    output_dir.mkdir(parents=True, exist_ok=True)
    fresh.save_pretrained(output_dir, safe_serialization=True)
    tokenizer.save_pretrained(output_dir)
    return output_dir


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gguf_to_hf.py MODEL.gguf OUTPUT_DIR")
    print(convert(sys.argv[1], sys.argv[2]))
