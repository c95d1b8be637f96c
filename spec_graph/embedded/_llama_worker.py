"""Child process that hosts one llama.cpp server (xllamacpp) until its parent goes away.

Run as ``python -m spec_graph.embedded._llama_worker '<json params>'``. It prints one JSON line
``{"base_url": ...}`` on stdout once the model is loaded, then blocks on stdin: when the parent
exits (normally, on Ctrl-C or killed), stdin closes and the server is released. llama.cpp's
native log goes to this process's stderr, which the parent points at a log file.
"""

from __future__ import annotations

import json
import signal
import sys


def main() -> int:
    """Start the server described by argv[1] and serve until stdin closes or SIGTERM."""
    import xllamacpp as xlc

    spec = json.loads(sys.argv[1])
    params = xlc.CommonParams()
    params.model.path = spec["model_path"]
    params.n_ctx = spec["n_ctx"]
    params.n_parallel = spec["n_parallel"]
    params.kv_unified = spec["kv_unified"]
    # Keep an idle slot's cache where it is, never copied to host memory or cleared when
    # another slot starts a task (with a shared KV buffer, llama.cpp's default clears it: a
    # judge call wiped the chain's cache, and the next step was prefilled anew).
    params.cache_idle_slots = False
    params.cpuparams.n_threads = spec["n_threads"]
    params.cpuparams_batch.n_threads = spec["n_threads"]
    params.hostnames = ["127.0.0.1"]  # never reachable from outside this machine
    params.port = int(spec.get("port", 0))  # 0: a free port; a restart asks for its old one
    params.use_jinja = True  # the GGUF's own chat template, with tool-call support
    params.endpoint_metrics = True  # /metrics: token counters (tests prove cancellation with them)
    if spec.get("speculative"):  # token-level speculative decoding with a draft model
        sd = spec["speculative"]
        params.speculative.types = [
            xlc.common_speculative_type.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE
        ]
        params.speculative.draft.mparams.path = sd["draft_model_path"]
        params.speculative.draft.n_max = sd["n_max"]
        params.speculative.draft.n_min = sd["n_min"]
        params.speculative.draft.p_min = sd["p_min"]
        params.speculative.draft.cpuparams.n_threads = spec["n_threads"]
        params.speculative.draft.cpuparams_batch.n_threads = spec["n_threads"]
    server = xlc.Server(params)
    sys.stdout.write(json.dumps({"base_url": server.listening_address + "/v1"}) + "\n")
    sys.stdout.flush()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while sys.stdin.read(4096):
            pass
    finally:
        del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
