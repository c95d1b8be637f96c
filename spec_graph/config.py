"""Configuration: endpoints, sampling and the speculative-reasoning knobs.

Everything is a pydantic model so a config can come from code, from environment variables
(`SpecGraphSettings`, prefix ``SPEC_GRAPH_``) or from CLI flags, and be validated once, up
front, with a clear error. API keys are `SecretStr`: they never appear in a ``repr``, a log
line or the ``--json`` output.
"""

from __future__ import annotations

import os
import warnings
from contextvars import ContextVar
from typing import Any, Literal, Optional
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from spec_graph.reasoning import (
    SAMPLING_FIELDS,
    STRATEGIES,
    STRATEGY_KNOBS,
    FrozenOptions,
    JudgeName,
    ReasoningConfig,
    SamplingConfig,
    ScoreMethod,
    StrategyEntry,
    _check_reasoning,
    _problem,
    setting_value,
)
from spec_graph.settings_file import SettingsFileSource, settings_file
from spec_graph.tools.executor import ToolLimits

__all__ = [
    "ROLES",
    "SAMPLING_FIELDS",
    "STRATEGIES",
    "STRATEGY_KNOBS",
    "EmbeddedSettings",
    "EndpointConfig",
    "FrozenOptions",
    "JudgeName",
    "ReasoningConfig",
    "Role",
    "RoleEndpoint",
    "SamplingConfig",
    "ScoreMethod",
    "ServeSettings",
    "ServerKind",
    "SpecGraphSettings",
    "StrategyEntry",
    "setting_value",
    "settings_file",
]


Role = Literal["draft", "target"]
ROLES: tuple[Role, ...] = ("draft", "target")

_READ_SETTINGS_FILE: ContextVar[bool] = ContextVar("spec_graph_read_settings_file", default=True)


ServerKind = str
"""A server kind: ``auto`` (ask the server, ``/v1/models`` ``owned_by``), a server whose
quirks are known (``vllm``, ``sglang``, ``llamacpp``, ``generic``), or a backend kind
registered with `spec_graph.backends.register_backend`; checked by ``backend_for``."""


class EndpointConfig(BaseModel):
    """One OpenAI-compatible server (vLLM, SGLang, llama.cpp, or anything that speaks the API).

    ``server`` may also name a backend kind registered with `register_backend`; a model with
    no URL (in-process) is described by `spec_graph.backends.ModelSpec` instead.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str
    """E.g. ``http://127.0.0.1:8000/v1``."""
    model: str
    """The served model name sent as ``model=``."""
    api_key: SecretStr | None = Field(default=None, repr=False)
    """Never logged or shown. Defaults to env ``SPEC_GRAPH_{ROLE}__API_KEY`` in the settings."""
    server: ServerKind = Field(default="auto", min_length=1)
    """`ServerKind`: validated against the registered kinds when the backend is made."""
    timeout_s: float = Field(default=300.0, gt=0)
    """Per request; a step of 512 tokens on a slow CPU takes a while."""
    connect_timeout_s: float = Field(default=10.0, gt=0)
    """Connecting fails fast so a wrong URL is reported within seconds."""
    max_retries: int = Field(default=1, ge=0, le=10)
    """Retries on connection errors, 429 and 5xx (the openai client's own backoff)."""

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = f"base_url must start with http:// or https://, got {value!r}"
            raise ValueError(msg)
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number in 0-65535)
        except ValueError:
            port = parts.netloc.rpartition(":")[2]
            raise ValueError(f"base_url has an invalid port {port!r}: {value!r}") from None
        if not parts.hostname:
            raise ValueError(f"base_url has no host: {value!r}")
        return value.rstrip("/")


def _optional_mirror(model: type[BaseModel], name: str) -> type[BaseModel]:
    """``model`` with every field optional (None = not given), for settings given in parts.

    Derived from the model itself so the env mirror can never fall behind it (every
    `EndpointConfig` field, timeouts and retries included, is settable from env); the given
    values are validated against the real model by `SpecGraphSettings`.
    """
    fields: dict[str, Any] = {
        field_name: (Optional[info.annotation], Field(default=None, repr=info.repr))  # noqa: UP045
        for field_name, info in model.model_fields.items()
    }
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


RoleEndpoint = _optional_mirror(EndpointConfig, "RoleEndpoint")
"""A role's endpoint settings: any `EndpointConfig` field, each optional until resolved."""


class EmbeddedSettings(BaseModel):
    """The embedded llama.cpp servers used for any role without an endpoint.

    Env: ``SPEC_GRAPH_EMBEDDED__N_CTX``, ``..._SLOTS``, ``..._TARGET_SPECULATION``; the model
    pair itself is ``SPEC_GRAPH_PROFILE``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_ctx: int | None = Field(default=None, ge=512)
    """Context of each server, split evenly among its slots; None: 8192 per slot (up to 65536)."""
    slots: int | None = Field(default=None, ge=1, le=64)
    """Parallel slots per server (requests served together); None: what the run needs."""
    target_speculation: int | None = Field(default=None, ge=1, le=64)
    """Token-level speculative decoding inside the target's server (draft proposes N)."""


class ServeSettings(BaseModel):
    """``spec-graph serve``: where it listens, how much it takes at once, who may call it.

    Env: ``SPEC_GRAPH_SERVE__HOST``, ``..._PORT``, ``..._MAX_CONCURRENCY``, ``..._API_KEY``,
    ``..._MAX_TOKENS``, ``..._DRAIN_S``, ``..._PING_S``; the flags of ``spec-graph serve`` beat
    them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    """Loopback by default: put a proxy with TLS in front to serve other machines."""
    port: int = Field(default=8080, ge=0, le=65535)
    """0: a free port (the URL printed says which)."""
    max_concurrency: int = Field(default=4, ge=1)
    """Chat completions run at once; one more is answered 429 with ``Retry-After``."""
    retry_after_s: int = Field(default=1, ge=1)
    """The ``Retry-After`` of a 429."""
    api_key: SecretStr | None = Field(default=None, repr=False)
    """Bearer key every ``/v1`` call must send; None: no key. Never logged or shown."""
    max_tokens: int | None = Field(default=1024, ge=1)
    """The reply's cap when a request gives none (the reasoning has its own budget)."""
    drain_s: float = Field(default=30.0, ge=0)
    """On SIGTERM: seconds the runs in flight may take to finish before they are stopped."""
    ready_timeout_s: float = Field(default=5.0, gt=0)
    """Seconds ``GET /ready`` waits for each model server."""
    ping_s: float | None = Field(default=None, gt=0)
    """Seconds between SSE keep-alive comments while a stream is quiet; None: none.

    Off by default, as in vLLM's and OpenAI's streams: some clients lose events after a
    comment (``vllm bench serve`` lost every event after the first ping: 114 of 128 replies at
    32 clients). Set it behind a proxy that closes idle connections during a long reasoning phase.
    """


class SpecGraphSettings(BaseSettings):
    """The one configuration root: code, env vars (``SPEC_GRAPH_...``, ``__`` nests), the file.

    Precedence in that order; the file (`settings_file`) is what ``spec-graph tune`` wrote.

    Examples: ``SPEC_GRAPH_PROFILE=tiny``, ``SPEC_GRAPH_TARGET__BASE_URL=http://gpu:8000/v1``,
    ``SPEC_GRAPH_TARGET__MODEL=Qwen/QwQ-32B``, ``SPEC_GRAPH_TARGET__API_KEY=...``,
    ``SPEC_GRAPH_TARGET__TIMEOUT_S=30`` (it applies to an embedded target too),
    ``SPEC_GRAPH_REASONING__STRATEGY=scot``, ``SPEC_GRAPH_EMBEDDED__SLOTS=4``,
    ``SPEC_GRAPH_TOOLS__TIMEOUT_S=5``. The flat ``SPEC_GRAPH_TARGET_API_KEY`` of earlier
    releases still works, with a deprecation warning.
    """

    model_config = SettingsConfigDict(
        env_prefix="SPEC_GRAPH_", env_nested_delimiter="__", extra="ignore"
    )

    profile: str = "default"
    """Embedded model pair used for any role without an endpoint (`LOCAL_PROFILES`)."""
    draft: RoleEndpoint = Field(default_factory=RoleEndpoint)  # type: ignore[valid-type]
    target: RoleEndpoint = Field(default_factory=RoleEndpoint)  # type: ignore[valid-type]
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    reasoning: ReasoningConfig = Field(default_factory=ReasoningConfig)
    tools: ToolLimits = Field(default_factory=ToolLimits)
    """Bounds on tool use in each run (calls, seconds per call, output size)."""
    serve: ServeSettings = Field(default_factory=ServeSettings)
    """``spec-graph serve`` (host, port, concurrency, API key)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Code beats env vars, env vars beat the tuned settings file, which beats defaults."""
        path = settings_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file() and _READ_SETTINGS_FILE.get():
            given = getattr(init_settings, "init_kwargs", {})
            code_reasoning = "reasoning" in given
            sources.append(
                SettingsFileSource(
                    settings_cls,
                    path,
                    env_settings,
                    code_reasoning=code_reasoning,
                    check_reasoning=_check_reasoning,
                )
            )
        return tuple(sources)

    @classmethod
    def untuned(cls, **values: Any) -> SpecGraphSettings:
        """Settings from code and env vars only, without the settings file.

        The base of a sweep: a ``bench`` mode or a ``tune`` run then means what its name
        says, not an earlier choice on top of it.
        """
        token = _READ_SETTINGS_FILE.set(False)
        try:
            return cls(**values)
        finally:
            _READ_SETTINGS_FILE.reset(token)

    @model_validator(mode="after")
    def _check_endpoints(self) -> SpecGraphSettings:
        for role in ROLES:
            given: BaseModel = getattr(self, role)
            key = os.environ.get(f"SPEC_GRAPH_{role.upper()}_API_KEY")
            if key and getattr(given, "api_key", None) is None:
                warnings.warn(
                    f"SPEC_GRAPH_{role.upper()}_API_KEY is deprecated: use "
                    f"SPEC_GRAPH_{role.upper()}__API_KEY",
                    DeprecationWarning,
                    stacklevel=2,
                )
                object.__setattr__(given, "api_key", SecretStr(key))
            values = self.endpoint_overrides(role)
            try:  # the constraints of the real model (timeouts > 0, URL scheme, ...)
                EndpointConfig.model_validate(
                    {"base_url": "http://placeholder", "model": "m", **values}
                )
            except ValidationError as e:
                problems = "; ".join(_problem(err) for err in e.errors())
                raise ValueError(f"{role} endpoint settings: {problems}") from None
        return self

    def endpoint_overrides(self, role: Role) -> dict[str, Any]:
        """The `EndpointConfig` fields given for ``role`` (code, env, file), nothing else.

        Applied on top of any endpoint of that role, embedded ones included, so
        ``SPEC_GRAPH_TARGET__TIMEOUT_S=30`` bounds the embedded target's requests too.
        """
        given: BaseModel = getattr(self, role)
        return {k: v for k, v in given.model_dump().items() if v is not None}

    def endpoint(self, role: Role) -> EndpointConfig | None:
        """The explicit endpoint for a role, or None to use the embedded profile."""
        values = self.endpoint_overrides(role)
        if "base_url" not in values:
            return None
        return EndpointConfig.model_validate({"model": "default", **values})

    def apply(self, role: Role, endpoint: EndpointConfig) -> EndpointConfig:
        """``endpoint`` with this role's given settings on top (not its URL or model name).

        For endpoints the settings did not describe, e.g. an embedded server's or one given
        by a ``--target-url`` flag: its key, timeouts and retries still come from here.
        """
        values = {
            k: v for k, v in self.endpoint_overrides(role).items() if k not in ("base_url", "model")
        }
        return endpoint.model_copy(update=values) if values else endpoint
