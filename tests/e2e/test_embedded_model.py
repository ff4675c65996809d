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
