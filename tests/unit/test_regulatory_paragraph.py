"""get_paragraph and the regulatory graph's own call to it, on the real GMP-guide index.

The index is the session's `guide_index` (slow the first time unless the embedding cache is warm:
RELAIS_EMBEDDING_CACHE_DIR). The model is the scripted fake, so what it receives can be read back.
"""

from __future__ import annotations

import re

from langchain_core.messages import HumanMessage

from agents.answer import call_tool
from agents.regulatory_analysis import SPEC
from agents.regulatory_analysis.paragraphs import find_paragraph, get_paragraph, question_paragraphs
from graphs.supervisor import agent_graph
from retrievers.store import collection_dir, load_chunks

START_4_11 = "4.11. Des exigences spécifiques s’appliquent aux dossiers de lots"
END_4_11 = "peuvent ainsi requérir des durées d’archivage plus longues pour certains documents."


def _paragraph(part: str, paragraph: str) -> str:
    return get_paragraph.invoke({"part": part, "paragraph": paragraph})


def _first_extract(system_prompt: str) -> str:
    return re.search(r"<extrait\s([^>]*)>\n(.+?)\n</extrait>", system_prompt, re.DOTALL).group(2)


def _run(question: str, **state) -> tuple[list[dict], dict]:
    """Stream the agent: its custom events (status, sources) and its final state."""
    events, final = [], {}
    for mode, payload in agent_graph("regulatory_analysis").stream({"messages": [HumanMessage(question)], **state},
                                                                 stream_mode=["custom", "values"]):
        if mode == "custom":
            events.append(payload)
        else:
            final = payload
    return events, final


def test_question_names_paragraph_and_part():
    assert question_paragraphs("que dit le §4.11 de la partie I ?") == [("I", "4.11")]
    assert question_paragraphs("Partie II, §§19.70-19.71 et la partie I 2.10") == [
        ("II", "19.70"), ("II", "19.71"), ("I", "2.10")]
    assert question_paragraphs("et l'Annexe 11 §4.8 ?") == [("Annexe 11", "4.8")]
    assert question_paragraphs("que dit le guide sur la formation ?") == []


def test_paragraph_is_returned_verbatim_without_its_neighbour(guide_index):
    text = _paragraph("I", "4.11")
    assert text.startswith("Partie I, §4.11 :\n" + START_4_11)
    assert text.endswith(END_4_11)
    assert "4.10." not in text  # §4.10 shares the chunk: it is not part of §4.11


def test_paragraph_is_cut_before_the_next_number(guide_index):
    """§6.19 and §6.20 share one chunk: each gets its own text only."""
    six_nineteen, six_twenty = find_paragraph("I", "6.19").text, find_paragraph("Partie I", "§6.20").text
    assert six_nineteen.startswith("6.19. ") and "6.20." not in six_nineteen
    assert six_twenty.startswith("6.20. ") and "6.19." not in six_twenty


def test_paragraph_split_over_chunks_is_joined_once(guide_index):
    chunks = load_chunks(collection_dir("bpf"))
    pieces: dict[tuple[str, str], list[str]] = {}
    for chunk in chunks:  # paragraphs too long for one chunk: every piece holds that paragraph alone
        if chunk.metadata["part"] == "I" and ";" not in chunk.metadata["paragraphs"] and chunk.metadata["paragraphs"]:
            pieces.setdefault(("I", chunk.metadata["paragraphs"]), []).append(chunk.page_content.strip())
    (part, number), texts = next((key, texts) for key, texts in pieces.items() if len(texts) > 1)
    text = find_paragraph(part, number).text
    assert text.startswith(texts[0][:200]) and text.endswith(texts[-1][-200:])
    assert len(text) < sum(len(piece) for piece in texts) + len(texts)  # the splitter's overlap counted once


def test_an_annex_paragraph_is_its_own_annexs(guide_index):
    """Annexes number their paragraphs each from 1: §4.8 of Annex 11 is not §4.8 of another annex."""
    found = find_paragraph("Annexe 11", "4.8")
    assert found.part == "Annexe 11" and found.chunk.metadata["chapter"] == "11"
    assert found.text.startswith("4.8") and find_paragraph("LD.11", "4.8").text == found.text
    assert _paragraph("Annexe 11", "4.99").startswith("Le §4.99 n'existe pas dans l'annexe 11 ; paragraphes voisins")
    assert _paragraph("Annexe 42", "1.1") == "L'Annexe 42 n'existe pas dans le guide."


def test_unknown_paragraph_and_part_are_said_clearly(guide_index):
    message = _paragraph("I", "4.99")
    assert message.startswith("Le §4.99 n'existe pas dans la partie I ; paragraphes voisins : ")
    neighbours = re.findall(r"§(\d+\.\d+)", message.split(":", 1)[1])
    assert neighbours and all(find_paragraph("I", number).text for number in neighbours)
    assert _paragraph("VII", "4.11") == "La partie VII n'existe pas dans le guide ; parties : Annexes, I, II, III, IV."


def test_a_model_may_call_the_tool_through_the_allowlist(guide_index):
    assert "get_paragraph" in SPEC.tool_names
    call = {"name": "get_paragraph", "args": {"part": "I", "paragraph": "4.11"}, "id": "call-1", "type": "tool_call"}
    message, _ = call_tool(SPEC, call)
    assert message.status == "success" and message.content.startswith("Partie I, §4.11 :\n" + START_4_11)


def test_graph_puts_the_named_paragraph_first_and_says_so(guide_index, scripted_models):
    scripted_models.queue("reasoning", "Le §4.11 de la Partie I fixe la durée d'archivage des dossiers de lots.")
    events, final = _run("que dit le §4.11 de la partie I ?")
    system = scripted_models.calls("reasoning")[-1][0].content
    attributes = re.search(r"<extrait\s([^>]*)>", system).group(1)
    assert 'référence="Partie I, chapitre 4, §4.11"' in attributes
    assert _first_extract(system) == find_paragraph("I", "4.11").text
    assert system.count("<extrait ") > 1  # the search still ran for context
    statuses = [event["description"] for event in events if event.get("type") == "status"]
    assert any("get_paragraph" in status and "§4.11" in status for status in statuses)
    assert final["sources"][0]["title"] == "BPF Partie I — Chapitre 4 — §4.11"


def test_graph_says_an_unknown_paragraph_and_still_searches(guide_index, scripted_models):
    scripted_models.queue("reasoning", "Réponse.")
    events, _ = _run("que dit le §4.99 de la partie I sur l'archivage des dossiers de lots ?")
    statuses = [event["description"] for event in events if event.get("type") == "status"]
    assert any("le §4.99 n'existe pas dans la partie I" in status for status in statuses)
    system = scripted_models.calls("reasoning")[-1][0].content
    assert "4.99" not in _first_extract(system)

