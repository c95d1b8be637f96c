"""Start spec-graph's target and draft on vLLM, wait until both answer, write the endpoints.

Stdlib + httpx only, so it runs in the vLLM environment of a GPU machine::

    python integrations/vllm/serve_models.py --preset qwq32b-r1d1.5b --gpu h200 --gpus 1
    python integrations/vllm/serve_models.py --preset r1l70b-r1l8b --gpu h100 --gpus 3 --dry-run
    python integrations/vllm/serve_models.py --memory-table      # the arithmetic, every preset

What it does: plans the GPUs (tensor parallel for a target that needs several, the draft on a
GPU of its own when there is one left, else both on GPU 0 with a ``--gpu-memory-utilization``
share each), checks the plan against the memory arithmetic (weights, KV-cache bytes per token,
what is left for the KV cache), starts the target, waits for ``GET /v1/models`` to list it,
then starts the draft (each vLLM instance measures free memory when it starts, so never both
at once), writes the endpoint settings spec-graph reads (``endpoints.env`` with
``SPEC_GRAPH_{TARGET,DRAFT}__*`` lines, ``settings.json`` in the settings-file format, or
merged into ``--merge-settings FILE``), prints the ``spec-graph`` commands that use them, and
on Ctrl-C or SIGTERM stops both servers (SIGTERM to each process group, SIGKILL after a grace
period). ``--dry-run`` prints the plan and the exact commands and starts nothing.

The memory figures are estimates from the models' published configs (see `MODELS`); vLLM logs
the real KV-cache size at startup (``GPU KV cache size: N tokens``): read it there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

GIB = 1024**3


@dataclass(frozen=True)
class Model:
    """A model's published config (Hugging Face ``config.json``), the numbers the memory needs."""

    hf_id: str
    name: str  # --served-model-name
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    awq_id: str | None = None  # a 4-bit AWQ checkpoint of the same model, if one is named

    def linear_params(self) -> int:
        """Parameters of the linear layers (attention q/k/v/o and the 3 MLP matrices)."""
        attention = 2 * self.hidden * self.heads * self.head_dim
        attention += 2 * self.hidden * self.kv_heads * self.head_dim
        return self.layers * (attention + 3 * self.hidden * self.intermediate)

    def embedding_params(self) -> int:
        """Input embedding and (untied) output head: both ``vocab x hidden``."""
        return 2 * self.vocab * self.hidden

    def weight_bytes(self, quant: str) -> float:
        """bf16: 2 bytes/param. fp8 (vLLM online): linear layers 1 byte, embeddings bf16.
        awq: 4-bit linear layers with a fp16 scale + 4-bit zero per group of 128, embeddings bf16.
        """
        per_linear = {"bf16": 2.0, "fp8": 1.0, "awq": 0.5 + 2.5 / 128}[quant]
        return self.linear_params() * per_linear + self.embedding_params() * 2.0

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        """layers x KV heads x head dim x 2 (K and V) x dtype bytes."""
        return self.layers * self.kv_heads * self.head_dim * 2 * dtype_bytes


MODELS = {
    # Qwen2.5-32B architecture; QwQ-32B's card: 64 layers, 40 query / 8 KV heads.
    "qwq-32b": Model("Qwen/QwQ-32B", "qwq-32b", 64, 5120, 27648, 40, 8, 128, 152064, "Qwen/QwQ-32B-AWQ"),
    "r1-qwen-32b": Model("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "r1-distill-qwen-32b", 64, 5120, 27648, 40, 8, 128, 152064),
    "r1-qwen-1.5b": Model("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "r1-distill-qwen-1.5b", 28, 1536, 8960, 12, 2, 128, 151936),
    "r1-llama-70b": Model("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "r1-distill-llama-70b", 80, 8192, 28672, 64, 8, 128, 128256,
                          "casperhansen/deepseek-r1-distill-llama-70b-awq"),  # a community AWQ build
    "r1-llama-8b": Model("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "r1-distill-llama-8b", 32, 4096, 14336, 32, 8, 128, 128256),
}  # fmt: skip

PRESETS = {  # name: (target, draft); the draft must share the target's tokenizer for --spec-decode draft
    "qwq32b-r1d1.5b": ("qwq-32b", "r1-qwen-1.5b"),
    "r1q32b-r1q1.5b": ("r1-qwen-32b", "r1-qwen-1.5b"),
    "r1l70b-r1l8b": ("r1-llama-70b", "r1-llama-8b"),
}

GPUS = {  # total memory as nvidia-smi reports it on the SXM parts (MiB); check yours
    "h100": 81559 * 1024**2,
    "h200": 143771 * 1024**2,
}

BUDGET = 0.92  # vLLM's own default --gpu-memory-utilization; what all instances on a GPU may use
OVERHEAD_GIB = {"target": 4.0, "draft": 2.0}  # activations, CUDA graphs, context: an assumption
DRAFT_KV_TOKENS = 131072  # the draft's KV cache when it shares a GPU: 4 sequences of 32k


@dataclass(frozen=True)
class Server:
    """One planned ``vllm serve``: where it runs and the memory it is expected to have."""

    role: str
    model: Model
    quant: str
    gpus: tuple[int, ...]
    utilization: float
    port: int
    weights_gib: float  # per GPU
    kv_gib: float  # per GPU, after weights and overhead
    kv_tokens: int  # over the whole tensor-parallel group

    @property
    def tp(self) -> int:
        return len(self.gpus)

    def checkpoint(self) -> str:
        if self.quant == "awq":
            if self.model.awq_id is None:
                raise SystemExit(
                    f"no AWQ checkpoint is named for {self.model.hf_id}: use --quant fp8"
                )
            return self.model.awq_id
        return self.model.hf_id


def plan_server(role: str, model: Model, quant: str, gpus: tuple[int, ...], util: float,
                gpu_bytes: int, port: int) -> Server:  # fmt: skip
    """The memory of one server: per GPU weights / tp, overhead, the rest is KV cache."""
    tp = len(gpus)
    weights = model.weight_bytes(quant) / tp / GIB
    kv = util * gpu_bytes / GIB - weights - OVERHEAD_GIB[role]
    tokens = int(max(kv, 0.0) * GIB * tp / model.kv_bytes_per_token())
    return Server(role, model, quant, gpus, util, port, weights, kv, tokens)


def plan(args: argparse.Namespace) -> tuple[Server, Server]:
    """Target on GPUs 0..tp-1; the draft on GPU tp if there is one, else sharing GPU 0."""
    target_m, draft_m = (MODELS[k] for k in PRESETS[args.preset])
    gpu_bytes = GPUS[args.gpu]
    tp = args.tp or _smallest_tp(target_m, args.quant, args.gpus, gpu_bytes, args.max_model_len)
    if tp > args.gpus:
        raise SystemExit(f"--tp {tp} needs {tp} GPUs, --gpus is {args.gpus}")
    shared = args.gpus == tp
    draft_util = _draft_share(draft_m, gpu_bytes) if shared else BUDGET
    target_util = round(BUDGET - draft_util, 2) if shared else BUDGET
    target = plan_server("target", target_m, args.quant, tuple(range(tp)), target_util, gpu_bytes,
                         args.port)  # fmt: skip
    draft_gpu = 0 if shared else tp
    draft = plan_server(
        "draft", draft_m, "bf16", (draft_gpu,), draft_util, gpu_bytes, args.port + 1
    )
    return target, draft


def _draft_share(model: Model, gpu_bytes: int) -> float:
    kv = DRAFT_KV_TOKENS * model.kv_bytes_per_token()
    need = model.weight_bytes("bf16") + OVERHEAD_GIB["draft"] * GIB + kv
    return round(need / gpu_bytes + 0.005, 2)


def _smallest_tp(model: Model, quant: str, gpus: int, gpu_bytes: int, max_len: int) -> int:
    """The smallest tensor-parallel size (1, 2, 4, 8; dividing the KV heads) that holds the
    target's weights with room for 4 full-length sequences of KV cache, else all the GPUs."""
    for tp in (1, 2, 4, 8):
        if tp > gpus or model.kv_heads % tp:
            break
        util = BUDGET - (_draft_share(MODELS["r1-qwen-1.5b"], gpu_bytes) if tp == gpus else 0)
        server = plan_server("target", model, quant, tuple(range(tp)), util, gpu_bytes, 0)
        if server.kv_tokens >= 4 * max_len:
            return tp
    return max(t for t in (1, 2, 4, 8) if t <= gpus)


def speculative_config(kind: str, draft: Model) -> str | None:
    if kind == "none":
        return None
    if kind == "ngram":
        return json.dumps({"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4})
    return json.dumps({"method": "draft_model", "model": draft.hf_id, "num_speculative_tokens": 5})


def command(
    server: Server, args: argparse.Namespace, spec: str | None
) -> tuple[dict[str, str], list[str]]:
    """The environment additions and argv of one ``vllm serve``."""
    argv = [*shlex.split(args.vllm), "serve", server.checkpoint(),
            "--served-model-name", server.model.name,
            "--host", args.host, "--port", str(server.port),
            "--gpu-memory-utilization", f"{server.utilization:.2f}",
            "--max-model-len", str(args.max_model_len),
            "--enable-prefix-caching", "--enable-prompt-tokens-details"]  # fmt: skip
    if server.tp > 1:
        argv += ["--tensor-parallel-size", str(server.tp)]
    if server.quant == "fp8":
        argv += ["--quantization", "fp8"]
    if spec is not None:
        argv += ["--speculative-config", spec]
    argv += shlex.split(args.target_args if server.role == "target" else args.draft_args)
    env = {"CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in server.gpus)}
    return env, argv


def describe(server: Server, max_len: int) -> str:
    m = server.model
    per_token = m.kv_bytes_per_token()
    fits = server.kv_tokens // max_len
    return (
        f"{server.role}: {server.checkpoint()} ({server.quant}) on GPU {','.join(map(str, server.gpus))}"
        f" at {server.utilization:.2f}: weights {server.weights_gib:.1f} GiB/GPU, KV cache "
        f"{server.kv_gib:.1f} GiB/GPU at {per_token // 1024} KiB/token "
        f"({m.layers} layers x {m.kv_heads} KV heads x {m.head_dim} x 2 x 2 B) = "
        f"{server.kv_tokens:,} tokens, {fits} sequences of {max_len}"
    )


def memory_table(max_len: int = 32768) -> str:
    """Markdown: per preset, weights and GPU model, the fewest GPUs holding 4 full sequences."""
    rows = [
        "| target (weights) | GPU | GPUs: target tp + draft | target util | weights GiB/GPU "
        "| KV GiB/GPU | target KV tokens (x 32k seqs) | draft util | draft KV tokens |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for preset, (t, _) in PRESETS.items():
        for quant in ("bf16", "fp8", "awq"):
            if quant == "awq" and MODELS[t].awq_id is None:
                continue
            for gpu in GPUS:
                for gpus in range(1, 6):
                    ns = argparse.Namespace(
                        preset=preset, gpu=gpu, gpus=gpus, tp=None, quant=quant,
                        max_model_len=max_len, port=8000,
                    )  # fmt: skip
                    target, draft = plan(ns)
                    if target.kv_tokens >= 4 * max_len:  # as `_smallest_tp` asks
                        break
                where = "shared GPU 0" if draft.gpus[0] < target.tp else "own GPU"
                rows.append(
                    f"| {MODELS[t].hf_id} ({quant}) | {gpu} | {gpus}: tp {target.tp} + draft on "
                    f"{where} | {target.utilization:.2f} | {target.weights_gib:.1f} | "
                    f"{target.kv_gib:.1f} | {target.kv_tokens:,} (x{target.kv_tokens // max_len}) "
                    f"| {draft.utilization:.2f} | {draft.kv_tokens:,} |"
                )
    return "\n".join(rows)


def endpoint_settings(target: Server, draft: Server, host: str) -> dict[str, dict[str, str]]:
    """The ``target``/``draft`` sections of spec-graph's settings (`SpecGraphSettings`)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return {
        s.role: {"base_url": f"http://{shown}:{s.port}/v1", "model": s.model.name, "server": "vllm"}
        for s in (target, draft)
    }


def write_settings(
    settings: dict[str, dict[str, str]], out: Path, merge: Path | None
) -> list[Path]:
    """``endpoints.env`` and ``settings.json`` under ``out``; ``merge``: into that file too."""
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"SPEC_GRAPH_{role.upper()}__{key.upper()}={value}"
             for role, section in settings.items() for key, value in section.items()]  # fmt: skip
    env_file, json_file = out / "endpoints.env", out / "settings.json"
    env_file.write_text("\n".join(lines) + "\n")
    json_file.write_text(json.dumps(settings, indent=2) + "\n")
    written = [env_file, json_file]
    if merge is not None:  # keep the file's other keys (tuned reasoning), replace the endpoints
        data = json.loads(merge.read_text()) if merge.exists() else {}
        if not isinstance(data, dict):
            raise SystemExit(f"{merge} does not hold a JSON object")
        data.update(settings)
        merge.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=merge.parent, prefix=".settings-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        Path(tmp).replace(merge)
        written.append(merge)
    return written


def usage_lines(settings: dict[str, dict[str, str]], out: Path) -> list[str]:
    t, d = settings["target"], settings["draft"]
    return [
        f"set -a; . {out / 'endpoints.env'}; set +a     # or: export SPEC_GRAPH_SETTINGS_FILE={out / 'settings.json'}",
        'spec-graph ask "How many primes are below 100?"',
        "spec-graph serve --max-concurrency 8          # OpenAI-compatible endpoint on 127.0.0.1:8080",
        "# the same with flags, no settings:",
        f"spec-graph ask --target-url {t['base_url']} --target-model {t['model']} "
        f"--draft-url {d['base_url']} --draft-model {d['model']} \"...\"",
    ]  # fmt: skip


class Launched:
    """Started servers, each in its own process group, stopped in reverse order."""

    def __init__(self, grace_s: float) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self.grace_s = grace_s

    def start(
        self, role: str, env: dict[str, str], argv: list[str], log: Path
    ) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env={**os.environ, **env}, start_new_session=True)  # fmt: skip
        self.procs.append((role, proc, log))
        return proc

    def stop(self) -> None:
        for role, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                print(f"stopping {role} (pid {proc.pid})", file=sys.stderr, flush=True)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for _, proc, _ in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            while _group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)  # the engine core and workers exit after the API server
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, chars: int = 3000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-chars:]
    return f"<cannot read {path}>"


def wait_ready(base_url: str, name: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float,
               api_key: str | None) -> float:  # fmt: skip
    """Poll ``/v1/models`` until it lists ``name``; a clear error if the server dies or is late."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    started = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"vllm serve for {name} exited with code {proc.returncode} while starting;"
                             f" log {log}:\n{_tail(log)}")  # fmt: skip
        with contextlib.suppress(httpx.HTTPError, ValueError):
            reply = httpx.get(f"{base_url}/models", headers=headers, timeout=5.0)
            if reply.status_code == 200 and name in [
                m.get("id") for m in reply.json().get("data", [])
            ]:
                return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"{name} did not answer GET {base_url}/models within {timeout_s:.0f} s "
                             f"(first start downloads the weights: raise --startup-timeout); "
                             f"log {log}:\n{_tail(log)}")  # fmt: skip
        time.sleep(2.0)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "::") else host, port)) != 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="qwq32b-r1d1.5b")
    p.add_argument("--gpu", choices=sorted(GPUS), default="h200", help="GPU model (its memory)")
    p.add_argument("--gpus", type=int, default=1, help="GPUs on this machine to use")
    p.add_argument(
        "--tp",
        type=int,
        default=None,
        help="target tensor-parallel size (default: the smallest that fits)",
    )
    p.add_argument("--quant", choices=("bf16", "fp8", "awq"), default="bf16", help="target weights")
    p.add_argument("--max-model-len", type=int, default=32768)
    p.add_argument("--spec-decode", choices=("none", "ngram", "draft"), default="none",
                   help="token-level speculative decoding inside the target server")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--port", type=int, default=8000, help="target port; the draft gets the next one"
    )
    p.add_argument("--vllm", default="vllm", help="the vllm command (e.g. '.venv/bin/vllm')")
    p.add_argument("--target-args", default="", help="extra vllm serve arguments for the target")
    p.add_argument("--draft-args", default="", help="extra vllm serve arguments for the draft")
    p.add_argument(
        "--api-key-env",
        default=None,
        help="env var holding a key both servers require (passed as VLLM_API_KEY)",
    )
    p.add_argument(
        "--out", type=Path, default=Path("vllm-servers"), help="logs, endpoints.env, settings.json"
    )
    p.add_argument(
        "--merge-settings",
        type=Path,
        default=None,
        help="also write the endpoints into this settings file",
    )
    p.add_argument("--startup-timeout", type=float, default=1800.0, help="seconds per server")
    p.add_argument("--stop-grace", type=float, default=30.0)
    p.add_argument(
        "--dry-run", action="store_true", help="print the plan and the commands, start nothing"
    )
    p.add_argument("--memory-table", action="store_true", help="print the memory arithmetic of every preset")  # fmt: skip
    args = p.parse_args(argv)
    if args.memory_table:
        print(memory_table())
        return 0
    target, draft = plan(args)
    spec = speculative_config(args.spec_decode, draft.model)
    servers = [(target, command(target, args, spec)), (draft, command(draft, args, None))]
    settings = endpoint_settings(target, draft, args.host)
    for server, _ in servers:
        print("# " + describe(server, args.max_model_len))
    if target.kv_tokens < args.max_model_len:
        print(f"# the target's KV cache holds {target.kv_tokens:,} tokens, less than one sequence of "
              f"{args.max_model_len}: use --quant fp8/awq, more --gpus, or a smaller --max-model-len",
              file=sys.stderr)  # fmt: skip
        if not args.dry_run:
            return 2
    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not key:
        raise SystemExit(f"--api-key-env {args.api_key_env}: that environment variable is empty")
    for server, (env, cmd) in servers:
        shown_env = " ".join(f"{k}={v}" for k, v in env.items())
        key_note = f" VLLM_API_KEY=${args.api_key_env}" if key else ""
        print(f"{shown_env}{key_note} {shlex.join(cmd)}")
        if server.role == "target":
            print(
                f"until curl -sf http://127.0.0.1:{server.port}/v1/models >/dev/null; do sleep 5; done"
            )
    if args.dry_run:
        print("# then:\n" + "\n".join(usage_lines(settings, args.out)))
        return 0
    for server, _ in servers:
        if not _port_free(args.host, server.port):
            raise SystemExit(
                f"port {server.port} is in use: pass --port (the draft takes the next one)"
            )
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    args.out.mkdir(parents=True, exist_ok=True)
    launched = Launched(args.stop_grace)
    try:
        for server, (env, cmd) in servers:
            log = args.out / f"{server.role}.log"
            proc = launched.start(
                server.role, {**env, **({"VLLM_API_KEY": key} if key else {})}, cmd, log
            )
            url = settings[server.role]["base_url"]
            print(f"starting {server.role} (pid {proc.pid}, log {log}) ...", flush=True)
            took = wait_ready(url, server.model.name, proc, log, args.startup_timeout, key)
            print(f"{server.role} ready at {url} after {took:.0f} s", flush=True)
        for path in write_settings(settings, args.out, args.merge_settings):
            print(f"wrote {path}")
        print("\n".join(usage_lines(settings, args.out)))
        print("Ctrl-C (or SIGTERM) stops both servers.", flush=True)
        while True:
            for role, proc, log in launched.procs:
                if proc.poll() is not None:
                    raise SystemExit(
                        f"{role} server exited with code {proc.returncode}; log {log}:\n{_tail(log)}"
                    )
            time.sleep(2.0)
    except KeyboardInterrupt:
        return 0
    finally:
        launched.stop()


if __name__ == "__main__":
    sys.exit(main())
