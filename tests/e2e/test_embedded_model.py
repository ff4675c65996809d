"""The real embedded model: the GGUF assembled from its PyPI parts, run by llama.cpp (a smoke test).

Assembling writes 1.1 GB: set RELAIS_E2E_MODELS_DIR to a folder kept between runs so it happens once.
Each generation takes a few seconds on 2 cores.
"""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.tools import tool
from pydantic import BaseModel

from relais.models.catalog import get_chat_model
from relais.models.embedded import DEFAULT_GGUF_SIZE

pytestmark = pytest.mark.e2e


class Request(BaseModel):
    label: Literal["translation", "code", "general"]
    confidence: float


@tool
def search_guide(query: str) -> str:
    """Search the GMP guide (Bonnes Pratiques de Fabrication) for a passage."""
    return f"passage about {query}"


def test_assembled_file_is_complete(default_gguf):
    assert default_gguf.stat().st_size == DEFAULT_GGUF_SIZE
    with default_gguf.open("rb") as handle:
        assert handle.read(4) == b"GGUF"


def test_one_real_generation(embedded):
    model = get_chat_model("fast", "confidential")
    message = model.invoke("Quelle est la capitale de la France ? Réponds en un seul mot.")
    assert "paris" in message.text.lower()
    assert message.usage_metadata["input_tokens"] > 0
    assert message.usage_metadata["output_tokens"] > 0


def test_streamed_generation_ends_with_usage(embedded):
    chunks = list(get_chat_model("fast", "confidential").stream("Compte de un à cinq en français, en toutes lettres."))
    assert sum(1 for chunk in chunks if chunk.text) > 1
    assert "".join(chunk.text for chunk in chunks).strip()
    assert chunks[-1].usage_metadata["output_tokens"] > 0


def test_structured_output_follows_the_schema(embedded):
    result = get_chat_model("router", "confidential", schema=Request).invoke(
        "Classe cette demande (translation, code ou general) avec une confiance entre 0 et 1 : "
        "« Traduis ce contrat de fabrication en anglais »."
    )
    assert isinstance(result, Request)  # parsed and validated: the grammar kept the model to the schema
    assert result.label == "translation"


def test_forced_tool_call(embedded):
    message = get_chat_model("fast", "confidential", tools=[search_guide], tool_choice="search_guide").invoke(
        "Cherche dans le guide BPF ce qui concerne l'annexe 11 (systèmes informatisés)."
    )
    [call] = message.tool_calls
    assert call["name"] == "search_guide"
    assert isinstance(call["args"]["query"], str) and call["args"]["query"]


def test_a_prompt_resumes_from_the_last_state_that_began_the_same_way(embedded, default_gguf, monkeypatch):
    """Two prompts alternate (the regulatory agent's choice and synthesis): each resumes from its own last state."""
    import os

    from relais.models import embedded as embedded_module

    model = get_chat_model("fast", "confidential")
    model.invoke("Bonjour")  # loads the shared llama.cpp instance
    llama = embedded_module._shared_llama(str(default_gguf), 2048, os.cpu_count())
    assert llama.cache is not None  # RELAIS_EMBEDDED_PROMPT_CACHE_MB defaults to 2 GB
    loaded = []
    original = llama.load_state
    monkeypatch.setattr(llama, "load_state", lambda state: (loaded.append(state.n_tokens), original(state)))
    instructions = ("Tu choisis, parmi des phrases numérotées tirées du guide des Bonnes Pratiques de Fabrication, "
                    "celles qui répondent à la question, et tu donnes seulement leurs numéros. ") * 6

    def ask(text: str) -> None:
        llama.create_chat_completion(messages=[{"role": "user", "content": text}], max_tokens=1)

    ask(instructions + "Question : le nettoyage des locaux ?")
    ask("Écris une phrase sur la météo.")  # llama.cpp's context now holds another prompt
    assert loaded == []  # nothing kept began like it
    ask(instructions + "Question : la formation du personnel ?")
    assert len(loaded) == 1 and loaded[0] > 100  # resumed after the shared instructions, not from scratch


def test_the_prompt_cache_can_be_turned_off(default_gguf, monkeypatch):
    from relais.models import embedded as embedded_module
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_EMBEDDED_PROMPT_CACHE_MB", "0")
    get_settings.cache_clear()
    try:
        llama = embedded_module._shared_llama.__wrapped__(str(default_gguf), 512, 1)
        try:
            assert llama.cache is None
        finally:
            llama.close()
    finally:
        get_settings.cache_clear()
