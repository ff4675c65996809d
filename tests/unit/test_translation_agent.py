"""The translation graph with the scripted model: direction, parts, structure, glossary, streaming, bad input."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from agents import build_agent_graph, get_spec
from agents.translation.graph import detect_direction, read_request
from agents.translation.split import markdown_structure
from relais.models.catalog import resolve_chain
from relais.publish import ANSWER_TAG
from relais.settings import get_settings

WORDS = {"Libération des lots": "Batch release", "Objet": "Purpose", "Étape": "Step", "Responsable": "Owner",
         "Revue du dossier de lot": "Batch record review", "Pharmacien responsable": "Qualified Person",
         "Clore les écarts.": "Close the deviations.", "Signer.": "Sign."}
SOURCE = """# Libération des lots

## Objet

| Étape | Responsable |
|---|---|
| Revue du dossier de lot | Pharmacien responsable |

1. Clore les écarts.
2. Signer.

```bash
relais ingest --collection clauses  # écart
```
"""


def segments_of(messages) -> list[str]:
    """The segments sent to the model: JSON, fenced as data inside <segments>."""
    fenced = messages[-1].content.split("<segments>")[1].split("</segments>")[0]
    assert "<donnees_externes source=" in fenced
    return json.loads(fenced[fenced.index("{"):fenced.rindex("}") + 1])["segments"]


def dictionary_translator(messages):
    return {"translations": [WORDS.get(text, text.upper()) for text in segments_of(messages)]}


def run(graph, text: str):
    """Stream the graph like the server does: answer tokens, status events, final state."""
    streamed, statuses, final = [], [], {}
    for _namespace, mode, data in graph.stream({"messages": [HumanMessage(text)]},
                                               stream_mode=["messages", "custom", "values"], subgraphs=True):
        # like the server: only answer-tagged tokens reach the user, never the structured-output JSON
        if mode == "messages" and isinstance(data[0], AIMessageChunk) and ANSWER_TAG in data[1].get("tags", []):
            streamed.append(data[0].content)
        elif mode == "custom" and data.get("type") == "status":
            statuses.append(data["description"])
        elif mode == "values":
            final = data
    return "".join(streamed), statuses, final


@pytest.fixture
def graph():
    return build_agent_graph(get_spec("translation"))


def test_translation_keeps_structure_applies_glossary_and_streams_its_final_text(graph, scripted_models):
    scripted_models.queue("translation", dictionary_translator)
    streamed, statuses, final = run(graph, "Traduis en anglais :\n\n" + SOURCE)
    answer = final["messages"][-1].content
    translation = answer.split("\n\n---\n\n**Glossaire")[0]
    assert streamed == answer  # what Open WebUI showed is exactly the final message
    assert translation.startswith("# Batch release\n\n## Purpose\n\n| Step | Owner |\n|---|---|\n"
                                  "| Batch record review | Qualified Person |\n\n1. Close the deviations.\n2. Sign.")
    assert "relais ingest --collection clauses  # écart" in translation  # code passed through
    assert markdown_structure(translation) == markdown_structure(SOURCE)
    assert "| libération des lots | batch release | 1 | appliqué |" in answer
    assert "| écart | deviation | 1 | appliqué |" in answer
    assert "identiques à l'original" in answer
    assert any("partie 1/1" in status for status in statuses)
    sent = scripted_models.calls("translation")[0][-1].content
    assert "relais ingest" not in sent  # code blocks never reach the model
    assert "- écart → deviation" in sent and "- dossier de lot → batch record" in sent  # the part's glossary entries
    assert final["usage"]["output_tokens"] > 0 and final["usage"]["model_calls"] == 1


def test_long_text_is_translated_part_by_part_with_status_events(graph, scripted_models, monkeypatch):
    monkeypatch.setenv("RELAIS_TRANSLATION_CHUNK_CHARS", "200")
    get_settings.cache_clear()
    text = "\n\n".join(f"## Section {n}\n\nLe lot numéro {n} est libéré par le pharmacien responsable après revue."
                       for n in range(1, 11))
    scripted_models.queue("translation", *[dictionary_translator] * 20)
    streamed, statuses, final = run(graph, text)
    parts = [status for status in statuses if "partie " in status]
    assert len(parts) >= 4 and parts[1].endswith(f"partie 2/{len(parts)}…")
    assert len(scripted_models.calls("translation")) == len(parts)
    assert streamed == final["messages"][-1].content
    assert final["messages"][-1].content.count("## SECTION") == 10


def test_a_part_returned_with_the_wrong_count_is_retried_segment_by_segment(graph, scripted_models):
    scripted_models.queue("translation", {"translations": ["only one"]}, dictionary_translator,
                          dictionary_translator, "pas du JSON")  # answered, but not in the schema
    _, _, final = run(graph, "Traduis en anglais : Objet\n\n1. Clore les écarts.\n2. Signer.")
    answer = final["messages"][-1].content
    assert answer.startswith("Purpose\n\n1. Close the deviations.\n2. Signer.")  # the failed segment is kept
    assert "segment non traduit" in answer and "« Signer. »" in answer
    assert len(scripted_models.calls("translation")) == 4


def test_a_kept_source_segment_is_not_rewritten_by_the_glossary(graph, scripted_models):
    scripted_models.queue("translation", {"translations": ["only one"]}, dictionary_translator, "pas du JSON")
    _, _, final = run(graph, "Traduis en anglais : Objet\n\nLe pharmacien responsable signe.")
    answer = final["messages"][-1].content
    assert answer.startswith("Purpose\n\nLe pharmacien responsable signe.")
    assert "Qualified Person" not in answer.split("---")[0]


def test_a_dead_model_fails_the_translation_instead_of_returning_the_source(graph, scripted_models):
    scripted_models.queue("translation", RuntimeError("model server answered 500"))
    with pytest.raises(RuntimeError, match="answered 500"):
        run(graph, "Traduis en anglais : Le pharmacien responsable signe.")


def test_nothing_is_streamed_as_a_translation_while_the_model_has_translated_nothing(graph, scripted_models):
    scripted_models.queue("translation", "pas du JSON", "toujours pas")
    streamed, final = [], {}
    for _namespace, mode, data in graph.stream(
            {"messages": [HumanMessage("Traduis en anglais : Le pharmacien responsable signe.")]},
            stream_mode=["messages", "values"], subgraphs=True):
        if mode == "values":
            final = data
        elif isinstance(data[0], AIMessageChunk) and ANSWER_TAG in data[1].get("tags", []):
            streamed.append(data[0].content)
    answer = final["messages"][-1].content
    assert answer.startswith("Je n'ai pas pu traduire ce texte") and "Rien n'a été traduit" in answer
    assert "pharmacien" not in "".join(streamed) and "pharmacien" not in answer


def test_changed_inline_code_is_reported(graph, scripted_models):
    scripted_models.queue("translation", {"translations": ["Run `relais ingérer` now."]})
    _, _, final = run(graph, "Traduis en anglais : Lancez `relais ingest` maintenant.")
    assert "code en ligne modifié : `relais ingest`" in final["messages"][-1].content


@pytest.mark.parametrize(("message", "expected"), [
    ("Traduis en anglais : Le lot est libéré.", ("Traduis en anglais ", "Le lot est libéré.")),
    ("Peux-tu traduire ce texte en français ?\nThe batch is released.", (
        "Peux-tu traduire ce texte en français ?", "The batch is released.")),
    ("Le lot est libéré.", ("", "Le lot est libéré.")),
    ("Traduire :\n```markdown\n# Titre\n```", ("Traduire :", "# Titre")),
    ("Traduction certifiée conforme\nLe lot est libéré.", ("", "Traduction certifiée conforme\nLe lot est libéré.")),
    ("Translate into French\nThe batch.", ("Translate into French", "The batch.")),
])
def test_request_reading(message, expected):
    assert read_request(message) == expected


@pytest.mark.parametrize(("instruction", "text", "direction"), [
    ("Traduis en anglais", "The batch is released by the QP.", "fr-en"),  # explicit wins over the text
    ("Translate into French", "Le lot est libéré.", "en-fr"),
    ("", "Le lot est libéré par le pharmacien responsable et les écarts sont clos.", "fr-en"),
    ("", "The batch is released by the Qualified Person and the deviations are closed.", "en-fr"),
    ("traduction FR -> EN", "x", "fr-en"),
])
def test_direction(instruction, text, direction):
    assert detect_direction(instruction, text) == direction


def test_english_text_is_translated_into_french_with_the_french_glossary(graph, scripted_models):
    scripted_models.queue("translation", {"translations": ["Le lot est libéré par le pharmacien responsable."]})
    _, _, final = run(graph, "The batch is released by the Qualified Person.")
    answer = final["messages"][-1].content
    assert answer.startswith("Le lot est libéré par le pharmacien responsable.")
    assert "EN→FR" in answer and "| batch | lot | 1 | appliqué |" in answer
    assert "Translate" not in scripted_models.calls("translation")[0][-1].content
    assert "de l'anglais vers le français" in scripted_models.calls("translation")[0][-1].content


@pytest.mark.parametrize(("message", "expected"), [
    ("", "aucun texte à traduire"),
    ("Traduis en anglais :", "aucun texte à traduire"),
    ("```python\nprint(1)\n```\n\n| 1 | 2 |\n|---|---|\n| 3 | 4 |", "rien à traduire"),
])
def test_bad_input_gets_a_clear_answer_without_a_model_call(graph, scripted_models, message, expected):
    streamed, _, final = run(graph, message)
    assert expected in final["messages"][-1].content and streamed == final["messages"][-1].content
    assert scripted_models.calls("translation") == []


def test_a_text_over_the_limit_is_refused_clearly(graph, scripted_models, monkeypatch):
    monkeypatch.setenv("RELAIS_TRANSLATION_MAX_CHARS", "1000")
    get_settings.cache_clear()
    _, _, final = run(graph, "Le lot est libéré. " * 100)
    assert "1899 caractères" in final["messages"][-1].content and "1000" in final["messages"][-1].content
    assert scripted_models.calls("translation") == []


def test_translation_never_resolves_to_a_remote_model(monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    monkeypatch.setenv("RELAIS_MODELS", "translation=mistral:mistral-large-latest")
    get_settings.cache_clear()
    spec = get_spec("translation")
    chain = resolve_chain(spec.role, spec.sensitivity, {"translation": "mistral:mistral-small-latest"})
    assert chain and all(not model.is_remote for model in chain)


def test_an_attached_document_is_translated_part_by_part_and_returned_as_a_word_file(graph, scripted_models,
                                                                                     monkeypatch):
    from docx import Document

    from relais.documents import exports_dir
    from tests.fakes.openwebui_rag import rag_user_message

    monkeypatch.setenv("RELAIS_TRANSLATION_CHUNK_CHARS", "40")
    get_settings.cache_clear()
    scripted_models.queue("translation", *[dictionary_translator] * 10)
    message = rag_user_message("Traduis ce document en anglais", [("Libération lots.md", SOURCE)])
    streamed, statuses, final = run(graph, message)
    answer = final["messages"][-1].content
    calls = scripted_models.calls("translation")
    assert len(calls) > 1 and len(calls) == len([status for status in statuses if "partie " in status])
    sent = "\n".join(call[-1].content for call in calls)
    assert "Respond to the user query" not in sent and "Traduis ce document" not in sent  # the document alone
    assert '<donnees_externes source="Libération lots.md"' in sent
    assert answer.startswith("# Batch release\n\n## Purpose\n\n| Step | Owner |")
    assert streamed == answer
    link = next(line for line in answer.splitlines() if line.startswith("**Document traduit (Word)**"))
    assert "/files/" in link and "Liberation-lots-traduction.docx" in link
    assert [source["metadata"]["export"] for source in final["sources"]] == ["Liberation-lots-traduction.docx"]
    files = list(exports_dir().rglob("*.docx"))
    assert len(files) == 1
    word = Document(str(files[0]))
    paragraphs = [paragraph.text for paragraph in word.paragraphs]
    assert "Batch release" in paragraphs and "Purpose" in paragraphs
    assert "Close the deviations." in paragraphs and "Sign." in paragraphs
    assert [[cell.text for cell in row.cells] for row in word.tables[0].rows] == [
        ["Step", "Owner"], ["Batch record review", "Qualified Person"]]
    assert not any("Libération" in text for text in paragraphs[1:])  # the body is the translation


def test_rag_extracts_of_an_attachment_are_translated_with_a_warning_that_it_is_not_the_whole_file(
        graph, scripted_models):
    from tests.fakes.openwebui_rag import rag_user_message

    scripted_models.queue("translation", dictionary_translator)
    message = rag_user_message("Traduis en anglais", [("sop.md", "Objet"), ("sop.md", "Signer.")])
    _, _, final = run(graph, message)
    answer = final["messages"][-1].content
    assert answer.startswith("Purpose\n\nSign.")
    assert "n'a transmis que 2 extraits de « sop.md »" in answer


def test_an_attached_document_over_the_limit_is_refused_naming_it(graph, scripted_models, monkeypatch):
    from tests.fakes.openwebui_rag import rag_user_message

    monkeypatch.setenv("RELAIS_TRANSLATION_MAX_CHARS", "100")
    get_settings.cache_clear()
    _, _, final = run(graph, rag_user_message("Traduis", [("manuel qualité.pdf", "Le lot est libéré. " * 20)]))
    answer = final["messages"][-1].content
    assert "« manuel qualité.pdf »" in answer and "RELAIS_TRANSLATION_MAX_CHARS" in answer
    assert scripted_models.calls("translation") == []


@pytest.mark.parametrize(("text", "found"), [
    ("Le lot est libéré après revue des écarts par le pharmacien responsable.", 3),
    ("La météo est belle aujourd'hui.", 0),
])
def test_the_glossary_lookup_says_how_many_imposed_terms_the_text_holds(graph, scripted_models, text, found):
    scripted_models.queue("translation", dictionary_translator)
    _, statuses, _ = run(graph, f"Traduis en anglais :\n\n{text}")
    assert f"Traduction (confidentiel) : glossaire BPF — {found} terme(s) imposé(s) trouvé(s) dans le texte" in statuses


@pytest.mark.parametrize(("text", "language"), [
    ("Le lot est libéré par la personne qualifiée après revue du dossier.", "fr"),
    ("The batch is released by the Qualified Person after the batch record review.", "en"),
    ("| Étape | Responsable |\n|---|---|\n| Revue | PQ |", "fr"),
    ("Batch record review", "en"),
    ("", "fr"),  # nothing to go on: French, the company's language
])
def test_the_text_language_comes_from_a_language_identifier(text, language):
    from agents.translation.graph import text_language

    assert text_language(text) == language
