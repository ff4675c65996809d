"""The model catalog: the one place that turns a role into a chat model.

Each agent names a role (what kind of work) and a sensitivity (what may leave the company).
The catalog resolves them to a chain of models, best first, and wraps the chain with retries and
fallbacks. `confidential` work never resolves to a remote provider, whatever the configuration.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from pydantic import ValidationError

from relais.guard.policy import GuardPolicy
from relais.models.guarded import Candidate, guarded_chain
from relais.settings import Settings, get_settings

logger = logging.getLogger(__name__)

Role = Literal["router", "drafting", "reasoning", "code", "translation", "judge", "fast"]
ROLES: tuple[Role, ...] = get_args(Role)
Sensitivity = Literal["public", "internal", "confidential"]
SENSITIVITIES: tuple[Sensitivity, ...] = get_args(Sensitivity)

REMOTE_PROVIDERS = frozenset({"mistral"})
MISTRAL_PUBLIC_URL = "https://api.mistral.ai/v1"

# The smallest Mistral model that does each job well enough.
MISTRAL_DEFAULTS: dict[Role, str] = {
    "router": "mistral-small-latest",
    "fast": "mistral-small-latest",
    "translation": "mistral-small-latest",
    "drafting": "mistral-large-latest",
    "reasoning": "mistral-large-latest",
    "judge": "mistral-large-latest",
    "code": "codestral-latest",
}

# Short outputs for the roles that only classify or title; long ones for documents.
MAX_TOKENS: dict[Role, int] = {
    "router": 64,
    "fast": 256,
    "translation": 2048,
    "drafting": 2048,
    "reasoning": 2048,
    "judge": 768,
    "code": 2048,
}


@dataclass(frozen=True)
class ModelSpec:
    """One concrete model: `provider:model` (e.g. `mistral:mistral-small-latest`)."""

    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse `provider:model`; the model part may itself contain colons (`local:qwen2.5:7b`)."""
        provider, sep, model = text.partition(":")
        if not sep or not provider or not model:
            raise ValueError(f"model {text!r} must look like 'provider:model'")
        return cls(provider, model)

    @property
    def is_remote(self) -> bool:
        """Whether a call to this model leaves the company."""
        return self.provider in REMOTE_PROVIDERS

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


ProviderFactory = Callable[[ModelSpec, Role, Settings], BaseChatModel]


def _mistral(spec: ModelSpec, role: Role, settings: Settings) -> BaseChatModel:
    from langchain_mistralai import ChatMistralAI
    from pydantic import SecretStr

    from relais.models.retrying_http import retrying_clients

    api_key = settings.mistral_api_key.get_secret_value() if settings.mistral_api_key else ""
    base_url = settings.mistral_base_url or MISTRAL_PUBLIC_URL
    # Our own clients: ChatMistralAI retries only connection errors, not 429/5xx, and its
    # `timeout` is a whole number of seconds.
    client, async_client = retrying_clients(
        base_url,
        {"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {api_key}"},
        settings.model_timeout_s,
        settings.model_max_retries,
    )
    return ChatMistralAI(
        model_name=spec.model,
        api_key=SecretStr(api_key),
        base_url=base_url,
        client=client,
        async_client=async_client,
        max_retries=max(1, settings.model_max_retries),
        timeout=max(1, math.ceil(settings.model_timeout_s)),
        max_tokens=MAX_TOKENS[role],
        temperature=0.2,
    )


def _local(spec: ModelSpec, role: Role, settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    if not settings.local_base_url:
        raise ValueError("provider 'local' needs RELAIS_LOCAL_BASE_URL (an OpenAI-compatible server)")
    return ChatOpenAI(
        model=spec.model,
        base_url=settings.local_base_url,
        api_key=settings.local_api_key,
        max_retries=settings.model_max_retries,
        timeout=settings.model_timeout_s,
        max_completion_tokens=MAX_TOKENS[role],
        # Ollama and older llama.cpp / vLLM servers read only the legacy `max_tokens`.
        extra_body={"max_tokens": MAX_TOKENS[role]},
        temperature=0.2,
        stream_usage=True,
        # llama.cpp's server repeats the function name in every streamed tool-call chunk, which LangChain
        # joins into one unknown name: tool calls (structured output included) come whole, answers stream.
        disable_streaming="tool_calling",
    )


def _embedded(spec: ModelSpec, role: Role, settings: Settings) -> BaseChatModel:
    from relais.models.embedded import EmbeddedChatModel, ensure_default_gguf

    path: Path | str | None = settings.gguf_path if spec.model == "default" and settings.gguf_path else None
    if spec.model != "default":
        path = spec.model
    model_path = str(path or ensure_default_gguf(settings.data_dir / "models"))
    return EmbeddedChatModel(
        model_path=model_path,
        n_ctx=settings.embedded_n_ctx,
        # llama-cpp-python would generate on half the cores; one generation runs at a time (GENERATION_LOCK),
        # so it gets them all: 10-20 % faster answers measured on 2 cores (benchmarks/embedded_answer.py).
        n_threads=settings.embedded_threads or os.cpu_count(),
        max_tokens=MAX_TOKENS[role],
        temperature=0.2,
        verbose=False,
        # llama.cpp streams a forced tool call in pieces LangChain's parsers cannot read back:
        # structured outputs and tool calls are generated whole, plain answers still stream.
        disable_streaming="tool_calling",
    )


PROVIDERS: dict[str, ProviderFactory] = {"mistral": _mistral, "local": _local, "embedded": _embedded}

# A small model cannot be trusted to write a grounded answer freely (the embedded 1.5B model refused questions
# its first extract answered, and copied its instructions): agents give it narrower jobs instead, such as the
# regulatory agent's extract-first answer (it picks the extracts' sentences by number, code quotes them).
SMALL_MODEL_MAX_BILLIONS = 4.0
_PARAMETER_COUNT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)b(?![a-z])", re.IGNORECASE)  # "1.5b", "3B", "8x7b"


def is_small_model(spec: ModelSpec, settings: Settings | None = None) -> bool:
    """Whether `spec` is a small model, one that gets narrow jobs rather than free writing.

    Small: the embedded provider (the in-process CPU model, Qwen2.5-Coder-1.5B by default), any model
    `RELAIS_SMALL_MODELS` lists, and a local model whose name gives a size of at most 4B parameters
    (`qwen2.5:3b-instruct`, `llama3.2:1b`). A remote model (Mistral) is never small.
    """
    settings = settings or get_settings()
    if spec.is_remote:
        return False
    if spec.provider == "embedded" or str(spec) in settings.small_models:
        return True
    sizes = [float(size) for size in _PARAMETER_COUNT.findall(spec.model)]
    return spec.provider == "local" and bool(sizes) and max(sizes) <= SMALL_MODEL_MAX_BILLIONS


def answers_on_small_model(role: Role, sensitivity: Sensitivity, overrides: Mapping[str, str] | None = None) -> bool:
    """Whether the role's first model, the one that answers while it is up, is small (`is_small_model`).

    A fallback that takes over after a failure is not foreseen: a graph chooses its path before the call.
    """
    settings = get_settings()
    return is_small_model(resolve_chain(role, sensitivity, overrides, settings)[0], settings)


def resolve_chain(
    role: Role,
    sensitivity: Sensitivity,
    overrides: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> list[ModelSpec]:
    """The models to try for a role, best first, with remote ones removed for confidential work.

    Order: an explicit choice (run overrides, then `RELAIS_MODELS`), Mistral when a key is set,
    the local OpenAI-compatible server when configured, and the embedded model last of all.
    """
    if role not in ROLES:
        raise ValueError(f"unknown model role {role!r} (known: {', '.join(ROLES)})")
    if sensitivity not in SENSITIVITIES:
        raise ValueError(f"unknown sensitivity {sensitivity!r} (known: {', '.join(SENSITIVITIES)})")
    settings = settings or get_settings()
    chain: list[ModelSpec] = []
    explicit = (overrides or {}).get(role) or settings.models.get(role)
    if explicit:
        spec = ModelSpec.parse(explicit)
        if spec.provider not in PROVIDERS:
            raise ValueError(f"model {explicit!r} for role {role!r}: unknown provider {spec.provider!r} "
                             f"(known: {', '.join(sorted(PROVIDERS))})")
        chain.append(spec)
    if settings.has_mistral:
        chain.append(ModelSpec("mistral", MISTRAL_DEFAULTS[role]))
    if settings.local_base_url:
        chain.append(ModelSpec("local", settings.local_model))
    chain.append(ModelSpec("embedded", "default"))
    if sensitivity == "confidential":
        if explicit and chain[0].is_remote:
            # Configured on purpose, refused on purpose: say so once per resolution.
            logger.warning("confidential %s work: configured model %s is remote, skipped", role, chain[0])
        chain = [spec for spec in chain if not spec.is_remote]
    return list(dict.fromkeys(chain))


_BUILT: OrderedDict[tuple[Any, ...], BaseChatModel] = OrderedDict()
_BUILT_MAX = 64
_BUILT_LOCK = threading.Lock()


def build_chat_model(spec: ModelSpec, role: Role, settings: Settings | None = None) -> BaseChatModel:
    """The model for `spec` and `role`, built once per configuration and reused.

    Building a client is not free (ChatMistralAI sets up HTTP clients and TLS contexts: ~0.1 s),
    so models are kept, keyed by everything that shapes them: spec, role, settings and provider.
    """
    settings = settings or get_settings()
    try:
        factory = PROVIDERS[spec.provider]
    except KeyError:
        raise ValueError(f"unknown model provider {spec.provider!r} (known: {sorted(PROVIDERS)})") from None
    secrets = tuple(secret.get_secret_value() if secret else None
                    for secret in (settings.mistral_api_key, settings.local_api_key))
    key = (spec, role, settings.model_dump_json(), secrets, factory)
    with _BUILT_LOCK:
        if key in _BUILT:
            _BUILT.move_to_end(key)
            return _BUILT[key]
    model = factory(spec, role, settings)
    with _BUILT_LOCK:
        _BUILT[key] = model
        while len(_BUILT) > _BUILT_MAX:
            _BUILT.popitem(last=False)
    return model


def get_chat_model(
    role: Role,
    sensitivity: Sensitivity,
    *,
    guard: GuardPolicy = "local",
    public: Sequence[str] = (),
    tools: Sequence[Any] | None = None,
    tool_choice: str | None = None,
    schema: type | None = None,
    overrides: Mapping[str, str] | None = None,
    tags: Sequence[str] = (),
    max_tokens: int | None = None,
) -> Runnable:
    """The one handle to call a role's models: guard, chain, retries, streaming and accounting in one place.

    The runnable tries the role's models best first. Before each remote one, the confidentiality
    guard inspects what would be sent and applies `guard` (see `relais.models.guarded`); `public`
    texts inside the messages are not inspected. Each model retries transient failures itself
    (`RELAIS_MODEL_MAX_RETRIES`); when it still fails, the next one takes over. Every model carries
    `relais_model` / `relais_role` metadata for the call log, and `tags` (the answer tag streams it).
    `max_tokens` caps this call's output below the role's usual length (a short synthesis).

    Raises (when invoked):
        GuardRefused: the policy is "refuse" and the request holds personal or confidential data.
    """
    settings = get_settings()
    chain = resolve_chain(role, sensitivity, overrides, settings)

    def prepared(spec: ModelSpec) -> Runnable:
        built = build_chat_model(spec, role, settings)
        model = _prepare(_capped(built, spec, max_tokens) if max_tokens else built, spec, tools, tool_choice, schema)
        return model.with_config(tags=list(tags), metadata={"relais_model": str(spec), "relais_role": role})

    # The primary is built now so a configuration mistake shows at once; the others only when
    # needed, so a healthy Mistral never makes the process assemble and load the 2 GB GGUF.
    primary = prepared(chain[0])
    candidates = [Candidate(str(chain[0]), chain[0].is_remote, lambda: primary)]
    candidates += [Candidate(str(spec), spec.is_remote, _deferred(prepared, spec)) for spec in chain[1:]]
    return guarded_chain(candidates, role, guard, public)


def _capped(model: BaseChatModel, spec: ModelSpec, max_tokens: int) -> BaseChatModel:
    """A copy of `model` that stops after `max_tokens` (the shared model keeps its role's length).

    Every provider's chat model names its limit `max_tokens`; a local server may read only the legacy
    body field, which `_local` sets in `extra_body` too.
    """
    update: dict[str, Any] = {"max_tokens": max_tokens}
    if spec.provider == "local":
        update["extra_body"] = {**(getattr(model, "extra_body", None) or {}), "max_tokens": max_tokens}
    return model.model_copy(update=update)


def _deferred(build: Callable[[ModelSpec], Runnable], spec: ModelSpec) -> Callable[[], Runnable]:
    """A builder that makes the model on first use and reuses it."""
    built: list[Runnable] = []
    lock = threading.Lock()

    def model() -> Runnable:
        with lock:
            if not built:
                built.append(build(spec))
        return built[0]

    return model


# What a structured-output call raises when the model answered, but not in the schema (as opposed to
# the model failing once every retry and fallback is spent): callers may say so plainly instead.
SCHEMA_MISFIT: tuple[type[Exception], ...] = (OutputParserException, ValidationError, json.JSONDecodeError)


# llama.cpp's OpenAI-compatible server (deploy/'s shared model server) rejects ChatOpenAI's default
# `response_format: json_schema` with a 500, which silently sent every structured call to the embedded
# model. A forced tool call is accepted there (and by vLLM), and llama.cpp holds it to the schema.
STRUCTURED_OUTPUT_METHOD: dict[str, str] = {"local": "function_calling"}


def _prepare(
    model: BaseChatModel, spec: ModelSpec, tools: Sequence[Any] | None, tool_choice: str | None,
    schema: type | None,
) -> Runnable:
    if schema is not None:
        method = STRUCTURED_OUTPUT_METHOD.get(spec.provider)
        return model.with_structured_output(schema, method=method) if method else model.with_structured_output(schema)
    if tools:
        return model.bind_tools(list(tools), tool_choice=tool_choice) if tool_choice else model.bind_tools(list(tools))
    return model
