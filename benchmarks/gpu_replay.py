"""GPU replay: measured kernel latencies of the reference shapes, real traces from the CPU run.

No GPU run of the reference pair (Qwen2.5-32B target, Qwen2.5-1.5B draft) exists for this
project, and the GPU machine has no model weights and no vLLM. What can be measured there is
what a forward pass of those *shapes* costs; what cannot be invented there is how often a draft
is accepted. So this script splits the two:

1. ``measure``: builds randomly initialised models from `transformers.Qwen2Config` written
   below with the published Qwen2.5 hyperparameters, in bf16 with a static KV cache, and times
   the three things a speculative run is made of: decoding one token (per batch size for the
   draft, which SCoT and best-of-n run in batches), a prefill of N new tokens on top of a
   cached context, and the judge's one-token call (a prefill of N new tokens whose next-token
   logits are read back). Weights are random: the latency of dense bf16 kernels does not depend
   on their values (the logits are checked to be finite, so no NaN path is timed). Decode is
   eager by default: that includes transformers' Python and kernel-launch cost per layer,
   which on a GPU can dominate a 1.5B model's step (a server with CUDA graphs pays far less),
   so eager numbers err slow for the draft; ``--compile`` also times decode under
   ``torch.compile`` (CUDA graphs) and the replay then uses those numbers.
2. ``replay``: pure Python. Reads the raw records of a CPU ``spec-graph bench`` run (one per
   question and mode: real step sources, judge verdicts, token and prompt counts of the small
   pair) and charges every call at the measured latencies. See `replay_record` for exactly
   what is modelled.

The output is labelled as what it is: a replay with measured GPU kernel times and real
acceptance traces from the small pair, not an end-to-end GPU run.

This file must stay self-contained (standard library; torch and transformers only inside the
measurement) so it can be copied alone to a GPU machine:

    python gpu_replay.py measure --shape reference --device cuda --out latencies.json
    python gpu_replay.py replay --latencies latencies.json \
        --traces benchmarks/results/gsm8k30-strategies/raw.jsonl --out OUTDIR
    python gpu_replay.py all --shape reference --device cuda \
        --traces benchmarks/results/gsm8k30-strategies/raw.jsonl --out OUTDIR

``--shape tiny --device cpu`` runs the same measurement code in seconds (the unit test).
"""

from __future__ import annotations

import argparse
import gc
import inspect
import itertools
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------

# Published Qwen2.5 hyperparameters (the models' config.json): both have head_dim 128, GQA,
# QKV bias, SwiGLU, RMSNorm, rope_theta 1e6. Only the shapes matter for latency.
SHAPES: dict[str, dict[str, dict[str, Any]]] = {
    "reference": {
        "target": {
            "name": "Qwen2.5-32B",
            "hidden_size": 5120,
            "intermediate_size": 27648,
            "num_hidden_layers": 64,
            "num_attention_heads": 40,
            "num_key_value_heads": 8,
            "vocab_size": 152064,
            "tie_word_embeddings": False,
            "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1_000_000.0,
        },
        "draft": {
            "name": "Qwen2.5-1.5B",
            "hidden_size": 1536,
            "intermediate_size": 8960,
            "num_hidden_layers": 28,
            "num_attention_heads": 12,
            "num_key_value_heads": 2,
            "vocab_size": 151936,
            "tie_word_embeddings": True,
            "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1_000_000.0,
        },
    },
    # Same code path, a few MB: for the CPU unit test, never for numbers anyone reads.
    "tiny": {
        "target": {
            "name": "tiny-target",
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "tie_word_embeddings": False,
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1_000_000.0,
        },
        "draft": {
            "name": "tiny-draft",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "vocab_size": 1000,
            "tie_word_embeddings": True,
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1_000_000.0,
        },
    },
}

SHAPE_LABELS = {"reference": "Qwen2.5-32B/1.5B shapes", "tiny": "tiny test shapes"}
"""How the label names the shapes (a tiny-shape replay must never read as a 32B one)."""

LOG_PREFIX = "[gpu_replay]"


def _log(message: str) -> None:
    print(f"{LOG_PREFIX} {message}", file=sys.stderr, flush=True)


def _parse_ints(text: str) -> list[int]:
    return sorted({int(part) for part in text.split(",") if part.strip()})


# --------------------------------------------------------------------------------------------
# Measurement (torch and transformers imported lazily: the replay and its tests need neither)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureSettings:
    """What to time; the defaults fit the benchmark's prompts (100-1300 tokens, steps ~50)."""

    context_tokens: int = 1024
    """Cached context the new tokens are appended to (a chain half-way through its budget)."""
    prefill_tokens: tuple[int, ...] = (1, 16, 64, 128, 512)
    judge_tokens: tuple[int, ...] = (1, 16, 64, 128, 512)
    decode_tokens: int = 32
    """Greedy decode steps per timed trial (ms per token = trial / steps)."""
    draft_batches: tuple[int, ...] = (1, 2, 3)
    """Draft decode batch sizes: 1 for step drafting, n/k for SCoT's chains, best-of-n."""
    repeats: int = 5
    warmup: int = 2
    dtype: str = "bfloat16"
    compile: bool = False
    """Also time decode with ``torch.compile`` (reduce-overhead: CUDA graphs); the replay then
    uses the compiled numbers. Off by default: eager always works, compiling may take minutes."""
    cpu_threads: int = 1
    """Torch threads on ``--device cpu`` (one: steady timings on a shared machine)."""
    max_seconds: float = 420.0
    """Past this, every remaining point is timed once after one warm-up (marked truncated);
    the default leaves a 10-minute device command room for imports and building the models."""
    seed: int = 0

    @property
    def max_cache_len(self) -> int:
        """Static cache slots: context plus the longest appended chunk or decode run."""
        longest = max((*self.prefill_tokens, *self.judge_tokens, self.decode_tokens + 1))
        return self.context_tokens + longest + 8

    @classmethod
    def for_shape(cls, shape: str, **overrides: Any) -> MeasureSettings:
        """The defaults for ``shape`` (tiny: small sizes, done in seconds on a CPU), overridden."""
        base = TINY_SETTINGS if shape == "tiny" else {}
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**base, **given})


TINY_SETTINGS: dict[str, Any] = {
    "context_tokens": 64,
    "prefill_tokens": (1, 8, 32),
    "judge_tokens": (1, 8, 32),
    "decode_tokens": 4,
    "repeats": 2,
    "warmup": 1,
}
"""`MeasureSettings` for ``--shape tiny``: the code path, not the numbers, is what it tests."""


class _Clock:
    """A soft deadline: past it, points are cut to the fewest samples that still give a value."""

    def __init__(self, max_seconds: float) -> None:
        self.started = time.perf_counter()
        self.max_seconds = max_seconds
        self.truncated = False

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def expired(self) -> bool:
        return self.elapsed() > self.max_seconds


def _qwen2_config(spec: Mapping[str, Any]) -> Any:
    """A `Qwen2Config` from a shape entry (rope_theta passed so v4 and v5 both take it)."""
    from transformers import Qwen2Config

    kwargs = {k: v for k, v in spec.items() if k != "name"}
    config = Qwen2Config(use_sliding_window=False, use_cache=True, **kwargs)
    if getattr(config, "rope_parameters", None) is not None:  # transformers >= 5
        config.rope_parameters = {**config.rope_parameters, "rope_theta": spec["rope_theta"]}
    return config


def _build_model(spec: Mapping[str, Any], device: str, dtype: Any) -> Any:
    """A randomly initialised `Qwen2ForCausalLM`, created directly on ``device`` in ``dtype``.

    Created under a device context with the default dtype switched, so the 32B never exists in
    fp32 (130 GB) nor on the CPU; transformers' own init (normal, std 0.02) gives finite values.
    """
    import torch
    from transformers import Qwen2ForCausalLM

    config = _qwen2_config(spec)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.to(device=device, dtype=dtype).eval()


class _Runner:
    """One model's forward with a static KV cache, across transformers 4.x and 5.x APIs.

    Introspects once which keyword carries the cache (``past_key_values`` / ``cache``),
    whether ``cache_position`` is taken (4.x: where the static cache writes) and how to ask
    for the last position's logits only (``logits_to_keep`` / ``num_logits_to_keep``).
    """

    def __init__(self, model: Any, device: str, settings: MeasureSettings) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.device = device
        self.settings = settings
        self.vocab = model.config.vocab_size
        params = inspect.signature(model.forward).parameters
        self.cache_kw = "cache" if "cache" in params else "past_key_values"
        self.cache_position = "cache_position" in params
        self.keep_kw = next(
            (k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None
        )
        self.compiled: Any = None
        self.generator = torch.Generator(device="cpu").manual_seed(settings.seed)
        self._caches: dict[int, Any] = {}

    def compile(self) -> None:
        """CUDA-graph the one-token decode forward (``torch.compile``, reduce-overhead)."""
        self.compiled = self.torch.compile(self.model, mode="reduce-overhead", dynamic=False)

    def sync(self) -> None:
        if self.device.startswith("cuda"):
            self.torch.cuda.synchronize()

    def ids(self, batch: int, tokens: int) -> Any:
        ids = self.torch.randint(0, self.vocab, (batch, tokens), generator=self.generator)
        return ids.to(self.device)

    def fresh_cache(self, batch: int) -> Any:
        """The batch's static cache, emptied (allocated once per batch size, then reset)."""
        from transformers import StaticCache

        cache = self._caches.get(batch)
        if cache is None:
            accepted = inspect.signature(StaticCache.__init__).parameters
            kwargs: dict[str, Any] = {
                "config": self.model.config,
                "max_cache_len": self.settings.max_cache_len,
            }
            size = next((k for k in ("max_batch_size", "batch_size") if k in accepted), None)
            extra = {size: batch, "device": self.device, "dtype": self.model.dtype}
            kwargs.update({k: v for k, v in extra.items() if k in accepted})
            cache = self._caches[batch] = StaticCache(**kwargs)
        else:
            cache.reset()
        return cache

    def forward(self, cache: Any, ids: Any, start: int, *, compiled: bool = False) -> Any:
        """Append ``ids`` at positions ``start..``; the last position's logits ``(batch, V)``."""
        torch = self.torch
        batch, tokens = ids.shape
        positions = torch.arange(start, start + tokens, device=self.device)
        kwargs: dict[str, Any] = {
            self.cache_kw: cache,
            "use_cache": True,
            "position_ids": positions.unsqueeze(0).expand(batch, -1),
        }
        if self.cache_position:
            kwargs["cache_position"] = positions
        if self.keep_kw:
            kwargs[self.keep_kw] = 1
        out = (self.compiled if compiled else self.model)(input_ids=ids, **kwargs)
        return out.logits[:, -1, :]

    def with_context(self, batch: int) -> tuple[Any, Any]:
        """A cache holding ``context_tokens`` of random context (untimed), and its last logits."""
        cache = self.fresh_cache(batch)
        logits = self.forward(cache, self.ids(batch, self.settings.context_tokens), 0)
        return cache, logits

    def time_prefill(self, tokens: int, *, judge: bool) -> float:
        """Milliseconds for ``tokens`` new tokens after the context (judge: read the verdict)."""
        cache, _ = self.with_context(1)
        new = self.ids(1, tokens)
        self.sync()
        started = time.perf_counter()
        logits = self.forward(cache, new, self.settings.context_tokens)
        if judge:  # what the judge does with its one token: top log-probabilities to the host
            self.torch.log_softmax(logits.float(), dim=-1).topk(20).indices.tolist()
        else:
            logits.argmax(dim=-1).tolist()
        self.sync()
        return (time.perf_counter() - started) * 1000.0

    def time_decode(self, batch: int, *, compiled: bool = False) -> float:
        """Milliseconds per greedy decode step at ``batch`` sequences (static cache)."""
        cache, logits = self.with_context(batch)
        steps, start = self.settings.decode_tokens, self.settings.context_tokens
        token = logits.argmax(dim=-1, keepdim=True)
        self.sync()
        started = time.perf_counter()
        for i in range(steps):
            logits = self.forward(cache, token, start + i, compiled=compiled)
            token = logits.argmax(dim=-1, keepdim=True)
        self.sync()
        self.last_logits = logits
        return (time.perf_counter() - started) * 1000.0 / steps


def _median_ms(fn: Callable[[], float], settings: MeasureSettings, clock: _Clock) -> float:
    """Median of ``repeats`` timings after ``warmup`` untimed runs (fewer past the deadline)."""
    warmup, repeats = settings.warmup, settings.repeats
    if clock.expired():
        clock.truncated = True
        warmup, repeats = min(warmup, 1), 1
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(max(repeats, 1)):
        samples.append(fn())
        if clock.expired() and samples:
            if len(samples) < repeats:
                clock.truncated = True
            break
    return statistics.median(samples)


def linear_fit(points: Mapping[int, float]) -> dict[str, float]:
    """Least squares ``ms = a + b * tokens`` over the measured points (for reading, not replay)."""
    xs, ys = list(points), list(points.values())
    if len(xs) < 2:
        return {"a_ms": ys[0] if ys else 0.0, "b_ms_per_token": 0.0}
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return {"a_ms": my - b * mx, "b_ms_per_token": b}


def _time_model(
    runner: _Runner, role: str, settings: MeasureSettings, clock: _Clock
) -> dict[str, Any]:
    """Decode per batch size, then prefill (and, for the target, judge) per new-token count."""
    import torch

    result: dict[str, Any] = {}
    batches = settings.draft_batches if role == "draft" else (1,)
    decode: dict[int, float] = {}
    for batch in batches:
        decode[batch] = _median_ms(lambda b=batch: runner.time_decode(b), settings, clock)
        _log(f"{role}: decode batch {batch}: {decode[batch]:.3f} ms/token (eager)")
    result["finite_logits"] = bool(torch.isfinite(runner.last_logits).all())
    result["decode_eager_ms_per_token"] = decode
    result["decode_ms_per_token"] = decode
    result["decode_kind"] = "eager"
    if settings.compile:  # optional: a failure leaves the eager numbers standing
        try:
            runner.compile()
            compiled: dict[int, float] = {}
            for batch in batches:
                compiled[batch] = _median_ms(
                    lambda b=batch: runner.time_decode(b, compiled=True), settings, clock
                )
                _log(f"{role}: decode batch {batch}: {compiled[batch]:.3f} ms/token (compiled)")
            result["decode_compiled_ms_per_token"] = compiled
            result["decode_ms_per_token"] = compiled
            result["decode_kind"] = "compiled"
        except Exception as e:
            result["compile_error"] = f"{type(e).__name__}: {e}"[:500]
            _log(f"{role}: torch.compile failed, keeping eager decode: {result['compile_error']}")
    kinds = [("prefill", settings.prefill_tokens)]
    if role == "target":  # only the target judges
        kinds.append(("judge", settings.judge_tokens))
    for kind, sizes in kinds:
        points: dict[int, float] = {}
        for n in sizes:
            points[n] = _median_ms(
                lambda n=n, k=kind: runner.time_prefill(n, judge=k == "judge"), settings, clock
            )
            _log(f"{role}: {kind} {n} new tokens: {points[n]:.3f} ms")
        result[f"{kind}_ms"] = points
        result[f"{kind}_fit"] = linear_fit(points)
    return result


def _measure_model(
    role: str,
    spec: Mapping[str, Any],
    device: str,
    settings: MeasureSettings,
    clock: _Clock,
) -> dict[str, Any]:
    import torch

    dtype = getattr(torch, settings.dtype)
    _log(f"{role}: building {spec['name']} ({settings.dtype}, random weights) on {device}")
    built = time.perf_counter()
    model = _build_model(spec, device, dtype)
    params = sum(p.numel() for p in model.parameters())
    _log(f"{role}: {params / 1e9:.3f}B parameters in {time.perf_counter() - built:.1f} s")
    runner = _Runner(model, device, settings)
    result: dict[str, Any] = {
        "name": spec["name"],
        "params": params,
        "config": {k: v for k, v in spec.items() if k != "name"},
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
    }
    with torch.no_grad():  # not inference_mode: torch.compile's CUDA graphs dislike it
        result.update(_time_model(runner, role, settings, clock))
    del runner, model
    if settings.compile:
        torch._dynamo.reset()  # compiled graphs hold the model: free it before the next one
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return result


def device_name(device: str) -> str:
    """What the label calls the device: the GPU's own name, or the CPU's."""
    import platform

    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({platform.processor() or platform.machine()})"


def measure(
    shape: str,
    device: str,
    settings: MeasureSettings | None = None,
    on_model: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Time decode, prefill and judge for the shape's target and draft on ``device``.

    The target is measured first and freed before the draft is built (one 65 GB model at a
    time). ``on_model`` gets the partial result after each model, so a run killed while
    timing the draft still leaves the target's numbers on disk.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # configs are built here; nothing to fetch
    import torch
    import transformers

    settings = settings or MeasureSettings.for_shape(shape)
    if device == "cpu":
        torch.set_num_threads(settings.cpu_threads)
    clock = _Clock(settings.max_seconds)
    result: dict[str, Any] = {
        "kind": "gpu-latencies",
        "shape": shape,
        "device": device,
        "device_name": device_name(device),
        "dtype": settings.dtype,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "compile": settings.compile,
        "context_tokens": settings.context_tokens,
        "max_cache_len": settings.max_cache_len,
        "decode_tokens": settings.decode_tokens,
        "repeats": settings.repeats,
        "warmup": settings.warmup,
        "models": {},
    }
    _log(
        f"{result['device_name']}, torch {torch.__version__}, transformers {transformers.__version__}"
    )
    for role in ("target", "draft"):
        result["models"][role] = _measure_model(role, SHAPES[shape][role], device, settings, clock)
        result["truncated"] = clock.truncated
        result["seconds"] = clock.elapsed()
        if on_model is not None:
            on_model(result)
    _log(f"measured in {clock.elapsed():.1f} s{' (truncated)' if clock.truncated else ''}")
    return result


# --------------------------------------------------------------------------------------------
# Replay (pure Python)
# --------------------------------------------------------------------------------------------


def _points(raw: Mapping[str | int, float]) -> dict[int, float]:
    return dict(sorted((int(k), float(v)) for k, v in raw.items()))


def interpolate(points: Mapping[int, float], x: float) -> float:
    """Piecewise-linear through the measured points; flat below the first, linear past the last.

    A forward pass costs at least what its smallest measured size costs (on a GPU a few new
    tokens cost what one does: the weights are read once either way), and past the largest
    size the cost grows at the last segment's slope (compute-bound).
    """
    xs = sorted(points)
    if not xs:
        raise ValueError("no measured points")
    if x <= xs[0] or len(xs) == 1:
        return points[xs[0]]
    for lo, hi in itertools.pairwise(xs):
        if x <= hi:
            return points[lo] + (points[hi] - points[lo]) * (x - lo) / (hi - lo)
    lo, hi = xs[-2], xs[-1]
    return points[hi] + (points[hi] - points[lo]) * (x - hi) / (hi - lo)


@dataclass(frozen=True)
class ModelLatency:
    """One model's measured milliseconds: decode per batch size, prefill and judge by new tokens."""

    decode_ms: dict[int, float]
    prefill_ms: dict[int, float]
    judge_ms: dict[int, float] = field(default_factory=dict)

    def decode(self, batch: int = 1) -> float:
        """Per decode step at ``batch`` sequences; the nearest measured batch if not measured."""
        nearest = min(self.decode_ms, key=lambda b: (abs(b - batch), b))
        return self.decode_ms[nearest]

    def calls(self, points: Mapping[int, float], calls: int, new_tokens: float) -> float:
        """Milliseconds of ``calls`` forwards sharing ``new_tokens`` uncached prompt tokens."""
        if calls <= 0:
            return 0.0
        return calls * interpolate(points, new_tokens / calls)


@dataclass(frozen=True)
class Latencies:
    """What `measure` wrote, as the replay reads it."""

    target: ModelLatency
    draft: ModelLatency
    device_name: str
    shape: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Latencies:
        def model(m: Mapping[str, Any]) -> ModelLatency:
            return ModelLatency(
                decode_ms=_points(m["decode_ms_per_token"]),
                prefill_ms=_points(m["prefill_ms"]),
                judge_ms=_points(m.get("judge_ms") or {}),
            )

        return cls(
            target=model(data["models"]["target"]),
            draft=model(data["models"]["draft"]),
            device_name=str(data.get("device_name") or data.get("device") or "unknown device"),
            shape=str(data.get("shape") or "unknown"),
            raw=dict(data),
        )


def read_traces(path: Path) -> list[dict[str, Any]]:
    """Records of a raw JSONL file; torn lines skipped, a later record of a (question, mode) wins."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "id" in record and "mode" in record:
            latest[(record["id"], record["mode"])] = record
    if not latest:
        raise ValueError(f"{path} holds no benchmark records")
    return list(latest.values())


def pair_names(traces: Path) -> tuple[str, str]:
    """The small pair's names, from the ``results.md`` the benchmark wrote beside the raw file."""
    results = traces.parent / "results.md"
    if results.exists():
        found = re.search(r"draft `([^`]+)`, target `([^`]+)`", results.read_text())
        if found:
            return found.group(1), found.group(2)
    return "unknown draft", "unknown target"


def _width(record: Mapping[str, Any]) -> int:
    """Sequences the draft decodes at once in this mode (SCoT's n, best-of-n's k; else 1)."""
    mode = str(record.get("mode", ""))
    strategy = mode.split(" ", 1)[0]
    drafts = (record.get("telemetry") or {}).get("drafts")
    if strategy == "scot":
        if drafts:
            return len(drafts)
        found = re.search(r"\bn=(\d+)", mode)
        return int(found.group(1)) if found else 2  # SCoT's CPU default
    if strategy == "best-of-n":
        found = re.search(r"\bk=(\d+)", mode)
        return int(found.group(1)) if found else 2
    return 1


def _uncached(t: Mapping[str, Any]) -> tuple[float, float, float]:
    """Uncached prompt tokens of (draft, judge, target generation) calls.

    ``RunTotals`` keeps the judge's cache hits apart but lumps the draft's and the target's
    generation calls' together; that remainder is split in proportion to the two prompts'
    sizes (exact when either is zero), as `spec_graph.bench.projection` does.
    """
    gen_prompt = max(t["target_prompt_tokens"] - t["judge_prompt_tokens"], 0)
    other_cached = max(t["cached_prompt_tokens"] - t["judge_cached_tokens"], 0)
    prompts = t["draft_prompt_tokens"] + gen_prompt
    draft_cached = other_cached * t["draft_prompt_tokens"] / prompts if prompts else 0.0
    draft = max(t["draft_prompt_tokens"] - draft_cached, 0.0)
    gen = max(gen_prompt - (other_cached - draft_cached), 0.0)
    judge = float(max(t["judge_prompt_tokens"] - t["judge_cached_tokens"], 0))
    return draft, judge, gen


def replay_record(
    record: Mapping[str, Any], lat: Latencies, per_call_overhead_ms: float = 0.0
) -> dict[str, float]:
    """Seconds one recorded question would take at the measured latencies, by component.

    Modelled, from the record (tokens, calls and step sources are the CPU run's, unchanged):

    - each generation call is one prefill forward of its new (uncached) prompt tokens, which
      also yields the first token, then ``tokens - 1`` decode steps at batch 1 (SCoT's chains
      and best-of-n's candidates at batch n/k);
    - draft calls: one per draft-written step plus one per judged step the target rewrote
      (its rejected draft) plus hand-off's cue/empty-draft hand-offs (telemetry); SCoT: one
      batched call decoding its longest chain; best-of-n: per call the mean candidate length
      (``draft_tokens / k / calls``, which errs fast: a batch runs until its longest ends);
    - judge calls (``judge_calls``, SCoT's and best-of-n's option picker too): one forward of
      the call's new prompt tokens at the measured one-token-judge latency;
    - target calls: one per target-written step plus the answer call when it ran
      (``answer_s > 0``);
    - prompt tokens per call are the record's uncached totals (judge: its own counts; draft
      vs target generation split as in `_uncached`) shared equally among that role's calls,
      each call charged at the measured latency of that many new tokens after the measured
      cached context (``context_tokens``). The judge prompt's wrapper tokens are in those
      totals.

    Approximations: prefix-cached tokens are free (the CPU run's llama.cpp cache hits are
    taken as what a GPU server's prefix cache would hit); attention cost is measured at one
    context length; a draft call that returned only empty text (specreason, best-of-n: the
    target then writes the step) is not counted (one forward each); calls run one after
    another (no pipelining, no overlap of draft and target); framework and request overhead
    is ``per_call_overhead_ms`` per call (default 0).
    """
    t = record["totals"]
    steps = record.get("steps") or []
    telemetry = record.get("telemetry") or {}
    width = _width(record)
    draft_new, judge_new, gen_new = _uncached(t)
    ms: dict[str, float] = {}

    drafts = telemetry.get("drafts")
    if drafts:  # SCoT: n chains in one batched call, as long as the longest
        draft_calls = 1
        longest = max(int(d.get("tokens") or 0) for d in drafts)
        ms["draft_decode"] = max(longest - 1, 0) * lat.draft.decode(width)
    else:
        draft_calls = sum(s["source"] == "draft" for s in steps)
        draft_calls += sum(s["source"] != "draft" and s["judged"] for s in steps)
        if "handoffs" in telemetry:  # cue and empty-draft hand-offs discarded a draft call
            draft_calls += int(telemetry["handoffs"]) - int(telemetry.get("by_low_confidence", 0))
        if t["draft_tokens"] and not draft_calls:
            draft_calls = 1
        per_sequence = t["draft_tokens"] / width
        ms["draft_decode"] = max(per_sequence - draft_calls, 0.0) * lat.draft.decode(width)
    ms["draft_prefill"] = lat.draft.calls(lat.draft.prefill_ms, draft_calls, draft_new)

    judge_calls = int(t["judge_calls"])
    ms["judge"] = lat.target.calls(lat.target.judge_ms, judge_calls, judge_new)

    target_calls = sum(s["source"] != "draft" for s in steps) + (1 if t["answer_s"] > 0 else 0)
    if t["target_tokens"] and not target_calls:
        target_calls = 1
    ms["target_decode"] = max(t["target_tokens"] - target_calls, 0) * lat.target.decode(1)
    ms["target_prefill"] = lat.target.calls(lat.target.prefill_ms, target_calls, gen_new)
    ms["overhead"] = (draft_calls + judge_calls + target_calls) * per_call_overhead_ms

    seconds = {f"{k}_s": v / 1000.0 for k, v in ms.items()}
    seconds["total_s"] = sum(ms.values()) / 1000.0
    seconds.update(draft_calls=draft_calls, judge_calls=judge_calls, target_calls=target_calls)
    return seconds


def caveats(mode: str) -> list[str]:
    """Settings in a mode's name that the replay does not model (shown beside its row)."""
    found = []
    if re.search(r"\bpipeline=(true|1|yes|on)\b", mode, re.IGNORECASE):
        found.append("pipelined drafting replayed without overlap (errs slow)")
    return found


def _finished(record: Mapping[str, Any]) -> bool:
    return (
        record.get("error") is None and record.get("wall_s", 0) > 0 and bool(record.get("totals"))
    )


def label(lat: Latencies, draft: str, target: str) -> str:
    """The one line every output carries, so a replay is never read as a GPU run."""
    shapes = SHAPE_LABELS.get(lat.shape, f"{lat.shape} shapes")
    gpu = str(lat.raw.get("device", "cuda")).startswith("cuda")
    return (
        f"replay: {'GPU kernel' if gpu else 'kernel'} latencies measured on {lat.device_name} "
        f"with randomly initialised "
        f"{shapes}; step and token traces from the CPU benchmark of the small pair "
        f"({draft}/{target}); not an end-to-end GPU run"
    )


COMPONENTS = ("draft_decode_s", "draft_prefill_s", "judge_s", "target_decode_s", "target_prefill_s")


def replay(
    records: Iterable[Mapping[str, Any]],
    lat: Latencies,
    *,
    baseline: str = "target-only",
    draft: str = "unknown draft",
    target: str = "unknown target",
    per_call_overhead_ms: float = 0.0,
) -> dict[str, Any]:
    """Per mode: mean replayed seconds per question, speedup vs ``baseline``, accuracy.

    Every mode is compared on the questions both it and the baseline finished (all of its
    own when the baseline is missing: speedup None); accuracy is the records' own (the
    traces are real) over those same questions, beside the CPU run's measured wall time.
    """
    records = list(records)
    finished = [r for r in records if _finished(r)]
    by_mode: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in finished:
        by_mode.setdefault(r["mode"], {})[r["id"]] = r
    base = by_mode.get(baseline, {})
    modes = []
    for mode, these in by_mode.items():
        ids = [i for i in these if i in base] if base else list(these)
        if not ids:
            continue
        replayed = [replay_record(these[i], lat, per_call_overhead_ms) for i in ids]
        mean_s = statistics.fmean(x["total_s"] for x in replayed)
        cpu_s = statistics.fmean(these[i]["wall_s"] for i in ids)
        row: dict[str, Any] = {
            "mode": mode,
            "questions": len(ids),
            "accuracy": statistics.fmean(bool(these[i].get("correct")) for i in ids),
            "replay_mean_s": mean_s,
            "replay_speedup": None,
            "cpu_mean_wall_s": cpu_s,
            "cpu_speedup": None,
            "mean_components_s": {c: statistics.fmean(x[c] for x in replayed) for c in COMPONENTS},
            "caveats": caveats(mode),
        }
        if base:
            base_replay = statistics.fmean(
                replay_record(base[i], lat, per_call_overhead_ms)["total_s"] for i in ids
            )
            base_cpu = statistics.fmean(base[i]["wall_s"] for i in ids)
            row["replay_speedup"] = base_replay / mean_s if mean_s else None
            row["cpu_speedup"] = base_cpu / cpu_s if cpu_s else None
        modes.append(row)
    return {
        "label": label(lat, draft, target),
        "kind": "replay",
        "device_name": lat.device_name,
        "shape": lat.shape,
        "draft": draft,
        "target": target,
        "baseline": baseline,
        "per_call_overhead_ms": per_call_overhead_ms,
        "records": len(records),
        "excluded_records": len(records) - len(finished),
        "modes": modes,
        "latencies": lat.raw,
        "modelled": inspect.cleandoc(replay_record.__doc__ or ""),
    }


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _params(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e8 else f"{n / 1e6:.2f}M"


def to_markdown(result: Mapping[str, Any]) -> str:
    """The replay as GitHub markdown, headed by its label."""
    lines = [f"# {result['label']}", ""]
    lines += [
        f"Baseline `{result['baseline']}`; each mode on the questions both finished. Accuracy and "
        "CPU s/q are the CPU run's own; replay s/q charges its calls at the measured latencies.",
        "",
        "| mode | questions | accuracy | replay s/q | replay speedup | CPU s/q | CPU speedup "
        "| draft decode s | draft prefill s | judge s | target decode s | target prefill s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in result["modes"]:
        c = m["mean_components_s"]
        lines.append(
            f"| {m['mode']} | {m['questions']} | {m['accuracy']:.1%} | {m['replay_mean_s']:.3f} "
            f"| {_fmt(m['replay_speedup'], '.2f', 'x')} | {m['cpu_mean_wall_s']:.2f} "
            f"| {_fmt(m['cpu_speedup'], '.2f', 'x')} | "
            + " | ".join(f"{c[k]:.3f}" for k in COMPONENTS)
            + " |"
        )
    noted = [(m["mode"], c) for m in result["modes"] for c in m.get("caveats", [])]
    if noted:
        lines += ["", *(f"- `{mode}`: {c}" for mode, c in noted)]
    lat = result.get("latencies") or {}
    if lat.get("models"):
        lines += [
            "",
            f"Measured latencies (ms; {lat.get('dtype')}, static KV cache, context "
            f"{lat.get('context_tokens')} tokens, torch {lat.get('torch')}, transformers "
            f"{lat.get('transformers')}, compile {lat.get('compile')}"
            f"{', truncated by --max-seconds' if lat.get('truncated') else ''}):",
            "",
            "| model | params | decode | decode ms/token by batch | prefill ms by new tokens "
            "| judge ms by new tokens |",
            "|---|---|---|---|---|---|",
        ]
        for role, m in lat["models"].items():
            cells = [
                ", ".join(f"{k}: {float(v):.2f}" for k, v in (m.get(key) or {}).items()) or "-"
                for key in ("decode_ms_per_token", "prefill_ms", "judge_ms")
            ]
            kind = m.get("decode_kind", "eager") + (
                " (compile failed)" if m.get("compile_error") else ""
            )
            lines.append(
                f"| {role} {m['name']} | {_params(m['params'])} | {kind} | "
                + " | ".join(cells)
                + " |"
            )
    lines += ["", "What is modelled (`replay_record`):", "", "```", result["modelled"], "```", ""]
    return "\n".join(lines)


def write_replay(result: Mapping[str, Any], out: Path) -> tuple[Path, Path]:
    """``replay.json`` and ``replay.md`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "replay.json", out / "replay.md"
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(to_markdown(result))
    return json_path, md_path


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def _measure_args(p: argparse.ArgumentParser) -> None:
    d = MeasureSettings()
    p.add_argument("--shape", choices=sorted(SHAPES), default="reference")
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    p.add_argument("--context", type=int, help=f"cached context tokens ({d.context_tokens})")
    p.add_argument("--prefill-tokens", help="new-token counts to time, e.g. 1,16,64,128,512")
    p.add_argument("--judge-tokens", help="new-token counts of the judge call")
    p.add_argument("--decode-tokens", type=int, help=f"steps per decode trial ({d.decode_tokens})")
    p.add_argument("--draft-batches", help="draft decode batch sizes (1,2,3)")
    p.add_argument("--repeats", type=int, help=f"timed repeats per point ({d.repeats})")
    p.add_argument("--warmup", type=int, help=f"untimed runs per point ({d.warmup})")
    p.add_argument("--dtype", help=f"bfloat16, float16 or float32 ({d.dtype})")
    p.add_argument("--compile", action="store_true", help="torch.compile the decode step")
    p.add_argument("--max-seconds", type=float, help=f"soft deadline ({d.max_seconds:.0f})")


def _replay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--traces", type=Path, required=True, help="raw.jsonl of a spec-graph bench run")
    p.add_argument("--baseline", default="target-only")
    p.add_argument("--draft-name", help="the small pair's draft (default: from results.md)")
    p.add_argument("--target-name", help="the small pair's target (default: from results.md)")
    p.add_argument("--per-call-overhead-ms", type=float, default=0.0)


def _settings(args: argparse.Namespace) -> MeasureSettings:
    def ints(text: str | None) -> tuple[int, ...] | None:
        return tuple(_parse_ints(text)) if text else None

    return MeasureSettings.for_shape(
        args.shape,
        context_tokens=args.context,
        prefill_tokens=ints(args.prefill_tokens),
        judge_tokens=ints(args.judge_tokens),
        decode_tokens=args.decode_tokens,
        draft_batches=ints(args.draft_batches),
        repeats=args.repeats,
        warmup=args.warmup,
        dtype=args.dtype,
        compile=args.compile or None,
        max_seconds=args.max_seconds,
    )


def _run_measure(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    return measure(args.shape, args.device, _settings(args), on_model=lambda r: _write_json(out, r))


def _run_replay(args: argparse.Namespace, latencies: Mapping[str, Any], out: Path) -> None:
    draft, target = pair_names(args.traces)
    result = replay(
        read_traces(args.traces),
        Latencies.from_json(latencies),
        baseline=args.baseline,
        draft=args.draft_name or draft,
        target=args.target_name or target,
        per_call_overhead_ms=args.per_call_overhead_ms,
    )
    json_path, md_path = write_replay(result, out)
    print(to_markdown(result).split("\n\nMeasured latencies")[0])
    _log(f"wrote {json_path} and {md_path}")


def main(argv: Sequence[str] | None = None) -> int:
    """``measure``, ``replay`` or ``all`` (both, into one folder)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_measure = sub.add_parser("measure", help="time decode, prefill and judge on a device")
    _measure_args(p_measure)
    p_measure.add_argument("--out", type=Path, default=Path("latencies.json"))
    p_replay = sub.add_parser("replay", help="replay recorded traces at measured latencies")
    p_replay.add_argument("--latencies", type=Path, required=True)
    _replay_args(p_replay)
    p_replay.add_argument("--out", type=Path, required=True, help="folder for replay.json/.md")
    p_all = sub.add_parser("all", help="measure, then replay (latencies.json in --out)")
    _measure_args(p_all)
    _replay_args(p_all)
    p_all.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "measure":
        _run_measure(args, args.out)
        _log(f"wrote {args.out}")
    elif args.command == "replay":
        _run_replay(args, json.loads(args.latencies.read_text()), args.out)
    else:
        latencies = _run_measure(args, args.out / "latencies.json")
        _run_replay(args, latencies, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
