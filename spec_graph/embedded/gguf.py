"""A minimal, bounded reader for GGUF metadata (header and key/value pairs only).

spec-graph fetches GGUF files from untrusted package-index chunks, so after the sha256
check it still looks inside the file to confirm it is the model it claims to be (for
example that ``tokenizer.chat_template`` carries the expected chat markers). The full
``gguf`` package pulls in numpy and more; reading a few metadata keys needs ~150 lines,
so this module does only that. Every count and length read from the file is bounded
before it is trusted, so a hostile file cannot make the reader allocate or loop without
limit.

Format (GGUF v2/v3, little-endian): magic ``b"GGUF"``, ``uint32`` version, ``uint64``
tensor count, ``uint64`` key/value count, then the key/value pairs. A key is a GGUF string
(``uint64`` length + UTF-8 bytes); a value is a ``uint32`` type tag followed by the value.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

__all__ = ["GGUFError", "read_gguf_metadata"]

GGUF_MAGIC = b"GGUF"
_SUPPORTED_VERSIONS = (2, 3)

# Value type tags of the GGUF spec.
_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL = range(8)
_STRING, _ARRAY, _UINT64, _INT64, _FLOAT64 = 8, 9, 10, 11, 12

# struct format per fixed-size scalar type.
_SCALARS: dict[int, str] = {
    _UINT8: "<B",
    _INT8: "<b",
    _UINT16: "<H",
    _INT16: "<h",
    _UINT32: "<I",
    _INT32: "<i",
    _FLOAT32: "<f",
    _BOOL: "<?",
    _UINT64: "<Q",
    _INT64: "<q",
    _FLOAT64: "<d",
}

# Bounds: far above what real models use (Qwen2.5 has ~30 keys, 151k-token vocabularies,
# a 6 KB chat template), far below what would exhaust memory or time.
MAX_KV_COUNT = 65_536
MAX_STRING_BYTES = 16 * 1024 * 1024
MAX_ARRAY_ITEMS = 16 * 1024 * 1024
MAX_RETURNED_ARRAY_ITEMS = 65_536

GGUFValue = int | float | bool | str | list["GGUFValue"]


class GGUFError(ValueError):
    """The file is not a GGUF file this reader understands, or it breaks a bound."""


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise GGUFError(f"unexpected end of file (wanted {n} bytes, got {len(data)})")
    return data


def _read_scalar(f: BinaryIO, vtype: int) -> int | float | bool:
    fmt = _SCALARS[vtype]
    (value,) = struct.unpack(fmt, _read_exact(f, struct.calcsize(fmt)))
    scalar: int | float | bool = value
    return scalar


def _read_string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _read_exact(f, 8))
    if length > MAX_STRING_BYTES:
        raise GGUFError(f"string of {length} bytes exceeds the {MAX_STRING_BYTES}-byte bound")
    return _read_exact(f, length).decode("utf-8", errors="replace")


def _skip_string(f: BinaryIO) -> None:
    (length,) = struct.unpack("<Q", _read_exact(f, 8))
    if length > MAX_STRING_BYTES:
        raise GGUFError(f"string of {length} bytes exceeds the {MAX_STRING_BYTES}-byte bound")
    f.seek(length, 1)


def _read_value(f: BinaryIO, vtype: int, *, keep: bool, depth: int = 0) -> GGUFValue | None:
    """Read (``keep=True``) or skip (``keep=False``) one value of type ``vtype``."""
    if vtype in _SCALARS:
        if keep:
            return _read_scalar(f, vtype)
        f.seek(struct.calcsize(_SCALARS[vtype]), 1)
        return None
    if vtype == _STRING:
        if keep:
            return _read_string(f)
        _skip_string(f)
        return None
    if vtype == _ARRAY:
        if depth > 2:
            raise GGUFError("arrays nested deeper than 2 levels")
        (item_type,) = struct.unpack("<I", _read_exact(f, 4))
        (count,) = struct.unpack("<Q", _read_exact(f, 8))
        if count > MAX_ARRAY_ITEMS:
            raise GGUFError(f"array of {count} items exceeds the {MAX_ARRAY_ITEMS}-item bound")
        if item_type in _SCALARS and not keep:
            f.seek(count * struct.calcsize(_SCALARS[item_type]), 1)
            return None
        if keep and count > MAX_RETURNED_ARRAY_ITEMS:
            raise GGUFError(f"array of {count} items is too long to return")
        items = [_read_value(f, item_type, keep=keep, depth=depth + 1) for _ in range(count)]
        return items if keep else None  # type: ignore[return-value]
    raise GGUFError(f"unknown GGUF value type {vtype}")


def read_gguf_metadata(path: str | Path, keys: set[str] | frozenset[str]) -> dict[str, GGUFValue]:
    """Read the requested metadata keys of a GGUF file, stopping once all are found.

    Only the header and the key/value section are read; tensor data is never touched,
    and values of keys not requested are skipped without being decoded.

    Args:
        path: The GGUF file.
        keys: Metadata keys to return, e.g. ``{"tokenizer.chat_template"}``.

    Returns:
        The requested keys that are present, mapped to their values (arrays as lists).

    Raises:
        GGUFError: The file is not GGUF v2/v3, is truncated, or exceeds a bound.
        OSError: The file cannot be read.
    """
    wanted = set(keys)
    found: dict[str, GGUFValue] = {}
    with open(path, "rb") as f:
        if _read_exact(f, 4) != GGUF_MAGIC:
            raise GGUFError(f"{path}: not a GGUF file (bad magic)")
        (version,) = struct.unpack("<I", _read_exact(f, 4))
        if version not in _SUPPORTED_VERSIONS:
            raise GGUFError(f"{path}: unsupported GGUF version {version}")
        _tensor_count, kv_count = struct.unpack("<QQ", _read_exact(f, 16))
        if kv_count > MAX_KV_COUNT:
            raise GGUFError(f"{path}: {kv_count} metadata pairs exceed the {MAX_KV_COUNT} bound")
        for _ in range(kv_count):
            if not wanted - found.keys():
                break
            key = _read_string(f)
            (vtype,) = struct.unpack("<I", _read_exact(f, 4))
            value = _read_value(f, vtype, keep=key in wanted)
            if key in wanted:
                found[key] = value  # type: ignore[assignment]
    return found
