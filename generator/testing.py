"""A tiny random-weight model for tests: the whole generation path in a second, no download.

Register it by writing a registry file and pointing ``NEWSEVAL_MODEL_REGISTRY`` (or
``load_registry(path)``) at it::

    from generator.testing import make_tiny_model, tiny_registry_toml
    model_dir = make_tiny_model(tmp_path / "tiny")
    (tmp_path / "models.toml").write_text(tiny_registry_toml(model_dir))
    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(tmp_path / "models.toml"))
    # the registry now has one model, "tiny" (backend "transformers")

Its text is random printable characters; it exercises loading, prompting, decoding, caching and
provenance, not language.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

TINY_MODEL_NAME = "tiny"
EOS_TOKEN = "<|endoftext|>"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def _byte_level_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    # Printable ASCII, space and newline (in the byte-level alphabet's spelling) and an
    # unknown token: whatever the random weights pick decodes to showable text, which the
    # selection rules would otherwise rightly reject as broken bytes.
    printable = [chr(b) for b in range(33, 127)] + ["\u0120", "\u010a"]
    vocab = {ch: i for i, ch in enumerate(["<unk>", *printable])}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([EOS_TOKEN])
    return tokenizer


def make_tiny_model(path: str | os.PathLike[str], *, seed: int = 0, layers: int = 2) -> Path:
    """Write a tiny ``LlamaForCausalLM`` (random weights, fp32) with a byte-level tokenizer.

    The folder holds ``config.json``, ``model.safetensors`` and the tokenizer files (EOS
    ``<|endoftext|>``, also used for padding, and a small chat template). The same ``seed``
    always gives the same weights. Returns the folder.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    raw = _byte_level_tokenizer()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token=EOS_TOKEN, pad_token=EOS_TOKEN, chat_template=CHAT_TEMPLATE
    )
    eos_id = raw.token_to_id(EOS_TOKEN)
    config = LlamaConfig(
        vocab_size=raw.get_vocab_size(),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
        # Random init is tiny: widen the logits so sampling settings visibly matter.
        with torch.no_grad():
            model.lm_head.weight.mul_(50.0)
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = eos_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "NEWSEVAL_TINY_MODEL.json").write_text(json.dumps({"seed": seed, "layers": layers}))
    return folder


def tiny_registry_entry(path: str | os.PathLike[str], name: str = TINY_MODEL_NAME) -> dict:
    """Registry table for a tiny model folder, as a dict (the keys of ``[models.NAME]``)."""
    return {
        "backend": "transformers",
        "path": str(Path(path).resolve()),
        "params": 1,
        "note": "tiny random-weight test model from generator.testing",
    }


def tiny_registry_toml(path: str | os.PathLike[str], name: str = TINY_MODEL_NAME) -> str:
    """A complete registry file (TOML text) with the tiny model as its only, default, model."""
    entry = tiny_registry_entry(path, name)
    lines = [f'default = "{name}"', "", f"[models.{name}]"]
    for key, value in entry.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"
