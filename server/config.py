"""Settings: defaults, then environment variables, then LSP initializationOptions (camelCase).

An invalid value never stops the daemon: it is reported (the LSP layer shows it to the user) and
the default is used instead. The API key is a `SecretStr`, so it prints as `**********`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

DEFAULT_MODEL = "openai/gpt-oss-120b"

Provider = Literal["groq", "openai-compatible"]
ReasoningEffort = Literal["low", "medium", "high"]
DEFAULT_CONTEXT_WINDOW = 32768
DEFAULT_MAX_OUTPUT_TOKENS = 8192

# environment variable -> settings field
ENVIRONMENT = {
    "GROQ_API_KEY": "api_key",
    "GROQ_BASE_URL": "base_url",
    "STEPFORGE_API_KEY": "api_key",
    "STEPFORGE_BASE_URL": "base_url",
    "STEPFORGE_PROVIDER": "provider",
    "STEPFORGE_MODEL": "model",
    "STEPFORGE_CONTEXT_WINDOW": "context_window",
    "STEPFORGE_MAX_OUTPUT_TOKENS": "max_output_tokens",
    "STEPFORGE_CONCURRENCY": "concurrency",
    "STEPFORGE_CALL_DEADLINE": "call_deadline",
    "STEPFORGE_STALL_TIMEOUT": "stall_timeout",
    "STEPFORGE_FIRST_TOKEN_TIMEOUT": "first_token_timeout",
    "STEPFORGE_RETRY_BACKOFF": "retry_backoff",
    "STEPFORGE_PREVIEW_RUNTIME": "preview_runtime",
    "STEPFORGE_DATABASE": "database",
    "DATABASE_URL": "database_url",
    "STEPFORGE_POSTGRES_IMAGE": "postgres_image",
    "STEPFORGE_PREVIEW_TIMEOUT": "preview_timeout",
    "STEPFORGE_FRONTEND_IMAGE": "frontend_image",
    "STEPFORGE_BACKEND_IMAGE": "backend_image",
    "STEPFORGE_CONTAINER_ENV": "container_env",
    "STEPFORGE_CONTAINER_MOUNTS": "container_mounts",
    "STEPFORGE_MAX_PLANNED_FILES": "max_planned_files",
    "STEPFORGE_REASONING_EFFORT": "reasoning_effort",
    "STEPFORGE_REPAIR_ROUNDS": "repair_rounds",
    "STEPFORGE_PLAN_REASKS": "plan_reasks",
    "STEPFORGE_FILE_ATTEMPTS": "file_attempts",
    "STEPFORGE_CONTINUATIONS": "continuations",
    "STEPFORGE_GIT": "git",
    "STEPFORGE_RUNTIME_CHECKS": "runtime_checks",
}
# The GROQ_* names apply to the Groq provider only; the STEPFORGE_* ones win when both are set.
_GROQ_ONLY = {"GROQ_API_KEY", "GROQ_BASE_URL"}


class Settings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    provider: Provider = "groq"
    api_key: SecretStr | None = None
    base_url: str | None = Field(
        default=None, description="Groq: the API root; openai-compatible: the URL ending in /v1."
    )
    model: str = Field(default=DEFAULT_MODEL, min_length=1)
    context_window: int = Field(
        default=DEFAULT_CONTEXT_WINDOW,
        ge=2048,
        description="Tokens of the model's context window; read from the provider when unset.",
    )
    max_output_tokens: int = Field(
        default=DEFAULT_MAX_OUTPUT_TOKENS,
        ge=256,
        description="The most tokens one answer may take; read from the provider when unset.",
    )
    concurrency: int = Field(
        default=4, ge=1, le=64, description="Files at once (1 by default for openai-compatible)."
    )
    reasoning_effort: ReasoningEffort | None = Field(
        default=None,
        description="Reasoning effort for models that take one (gpt-oss, qwen3); unset: low for "
        "files, medium for the plan.",
    )
    repair_rounds: int = Field(
        default=2, ge=0, le=10, description="Rounds of regenerating files with problems."
    )
    plan_reasks: int = Field(default=2, ge=0, le=10, description="Re-asks of an invalid plan.")
    max_planned_files: int = Field(
        default=300, ge=1, le=5000, description="The most files a plan may list."
    )
    file_attempts: int = Field(default=3, ge=1, le=10, description="Attempts per file.")
    continuations: int = Field(
        default=4, ge=0, le=20, description="Continuations of an answer cut off at the limit."
    )
    llm_retries: int = Field(default=5, ge=0, le=20)
    retry_backoff: float = Field(
        default=0.5, gt=0, description="First retry wait, doubling to 8 s."
    )
    stall_timeout: float = Field(
        default=60.0, gt=0, description="Seconds without a chunk once the answer streams."
    )
    # A server on a CPU reads the whole prompt before its first token (llama.cpp's sends not even
    # its headers before): that wait is long on a slow or busy machine and says nothing about a
    # stall, so it has its own, longer bound.
    first_token_timeout: float = Field(
        default=300.0, gt=0, description="Seconds to wait for the answer to begin."
    )
    call_deadline: float = Field(
        default=600.0, gt=0, description="Seconds for one call, retries included."
    )
    watch: bool = Field(
        default=True, description="Watch the workspace for the user's edits (editors)."
    )
    git: bool = Field(
        default=True,
        description="Commit each run's files to the workspace's git repository (made if there is "
        "none); history and undo read those commits.",
    )
    runtime_checks: bool = Field(
        default=True,
        description="After generate and change with repair on: also exercise the app's backend "
        "(round trips and its API contract, in the Docker sandbox on a scratch database) so that "
        "repair sees what only a running app shows. Skipped where Docker is unavailable.",
    )
    preview_runtime: Literal["auto", "docker", "local"] = "auto"
    preview_timeout: float = Field(
        default=300.0, gt=0, description="Seconds for both servers to answer."
    )
    database: Literal["sqlite", "postgres"] = Field(
        default="sqlite",
        description="The app's database in the preview: SQLite (a file outside the source "
        "folders), or Postgres (a third container with its own volume; with the local runtime, "
        "the Postgres that DATABASE_URL names). A workspace keeps the one it last ran with "
        "unless this is set.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="The local runtime's Postgres with database=postgres "
        "(postgresql://USER:PASSWORD@HOST:5432/DATABASE); unused otherwise.",
    )
    frontend_image: str = "stepforge-frontend:1"
    backend_image: str = "stepforge-backend:1"
    postgres_image: str = "stepforge-postgres:1"
    container_env: dict[str, str] = Field(default_factory=dict)
    container_mounts: list[str] = Field(
        default_factory=list, description="HOST_PATH:CONTAINER_PATH, mounted read-only."
    )
    client_kind: Literal["editor", "cli"] = Field(
        default="editor",
        description="Who reads the messages: `cli` (the stepforge command) is told environment "
        "variables and flags, an editor its settings.",
    )

    @field_validator("container_env", mode="before")
    @classmethod
    def _env_from_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("container_mounts", mode="before")
    @classmethod
    def _mounts_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [p for p in text.split(",") if p]
        return value

    @field_validator("container_mounts")
    @classmethod
    def _mounts_have_two_sides(cls, value: list[str]) -> list[str]:
        for mount in value:
            host, sep, target = mount.partition(":")
            if not sep or not host.startswith("/") or not target.startswith("/"):
                raise ValueError(f"{mount!r} is not HOST_PATH:CONTAINER_PATH with absolute paths")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _one_stream_for_local_servers(self) -> Settings:
        # Local OpenAI-compatible servers (llama.cpp, Ollama) usually serve one stream at a time.
        if self.provider == "openai-compatible" and "concurrency" not in self.model_fields_set:
            self.__dict__["concurrency"] = 1  # a default, not a choice of the user
        return self

    def explicitly_set(self, field: str) -> bool:
        """Whether the user chose this value (environment or initializationOptions)."""
        return field in self.model_fields_set

    @property
    def output_reserve(self) -> int:
        """Tokens kept for a file's answer: the max output, but never more than half the window."""
        return min(self.max_output_tokens, self.context_window // 2)

    @property
    def prompt_budget(self) -> int:
        return self.context_window - self.output_reserve

    def api_key_value(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def database_url_value(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None

    def variable_of(self, field: str) -> str:
        """The environment variable that sets `field` for this provider."""
        if field in ("api_key", "base_url") and self.provider == "groq":
            return "GROQ_" + field.upper()
        return next(
            name for name, f in ENVIRONMENT.items() if f == field and name not in _GROQ_ONLY
        )

    def name_of(self, field: str) -> str:
        """`field` as the user sets it: the environment variable on the command line; in an
        editor, its StepForge setting (initializationOptions) or the variable."""
        if self.client_kind == "cli":
            return self.variable_of(field)
        return f"the StepForge setting {to_camel(field)} (or {self.variable_of(field)})"


def _from_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings the environment sets, and the variable each came from."""
    provider = environ.get("STEPFORGE_PROVIDER", "groq")
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    # GROQ_* first so that STEPFORGE_* overwrite them.
    for name in sorted(ENVIRONMENT, key=lambda n: n not in _GROQ_ONLY):
        if name in _GROQ_ONLY and provider != "groq":
            continue
        if environ.get(name):
            raw[ENVIRONMENT[name]] = environ[name]
            sources[ENVIRONMENT[name]] = name
    return raw, sources


def load_settings(
    init_options: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> tuple[Settings, list[str]]:
    """Settings from the environment and initializationOptions, and a warning per rejected value."""
    raw, sources = _from_environment(environ)
    warnings: list[str] = []
    if init_options is not None and not isinstance(init_options, Mapping):
        warnings.append("initializationOptions must be an object; ignored.")
        init_options = None
    for key, value in (init_options or {}).items():
        if key == "token":  # the TCP connection token: checked by the transport, not a setting
            continue
        field = next(
            (name for name, f in Settings.model_fields.items() if key in (name, f.alias)), None
        )
        if field is None:
            warnings.append(f"Unknown StepForge option {key!r}; ignored.")
        else:
            raw[field] = value
            sources[field] = f"StepForge option {key}"
    while True:
        try:
            return Settings.model_validate(raw), warnings
        except ValidationError as error:
            first_problem: dict[str, Any] = {}
            for problem in error.errors():
                first_problem.setdefault(str(problem["loc"][0]) if problem["loc"] else "", problem)
            if not set(first_problem) <= set(raw):  # not a per-field error: nothing to drop
                raise
            for field, problem in first_problem.items():
                value = raw.pop(field)
                shown = "**********" if field in ("api_key", "database_url") else repr(value)
                default = Settings.model_fields[field].get_default(call_default_factory=True)
                source = sources.get(field, f"StepForge option {to_camel(field)}")
                warnings.append(
                    f"Invalid {source}={shown}: {problem['msg']}; using the default {default!r}."
                )
