"""The translation agent's graph: read the request → translate part by part → reassemble and report.

Deterministic around the model: the direction comes from the request, the text is cut by Markdown
blocks (tools/translation_split.py) and only the words go to the model, as JSON segments through a
structured output; the skeleton (tables, numbering, code blocks) is put back by code, the glossary is
checked by code. Confidential: the model is resolved with the agent's sensitivity, so never remote.

Each finished part is published as answer tokens (ANSWER_TAG) in document order, and the final
message is exactly what was published: Open WebUI shows the translation as it progresses.

A document attached in Open WebUI (its text sent inside the RAG template, `relais.attachments`) is
what gets translated, not the template around it: the user's own words are the instruction, and the
translation is also returned as a Word file (`export.py`), linked in the answer and in the sources.
"""

from __future__ import annotations

import json
import re
import time
from functools import cache, partial
from typing import Any, Literal, NotRequired

from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

import prompts
from agents.base import AgentSpec
from agents.translation.export import translated_document
from agents.translation.split import (
    MarkdownDocument,
    inline_code_spans,
    markdown_structure,
    parse_markdown,
    plan_chunks,
)
from relais.attachments import AttachedDocument, attached_request
from relais.context import Context, context_of
from relais.deliverables import export_source
from relais.documents import export_docx
from relais.events import emit_governance, emit_sources, emit_status
from relais.guard import fence_untrusted
from relais.models.catalog import SCHEMA_MISFIT, get_chat_model
from relais.publish import publish_answer, usage_total
from relais.settings import get_settings
from relais.state import AgentInput, AgentOutput, AgentState
from tools.glossary import Direction, GlossaryReport, check_segment, relevant_entries, render_report

_INSTRUCTION = re.compile(
    r"^\s*(?:(?:peux|pourrais|pouvez|pourriez)[- ]\w+\s+|merci de\s+|please\s+|can you\s+|could you\s+)?"
    r"(?:tradui\w*|tradu\w*|traduction|translat\w*)\b", re.IGNORECASE)
_IMPERATIVE = re.compile(r"^\s*(?:tradui[st]|traduisez|traduire|translate|please|can you|could you|peux|pourrais|"
                         r"pouvez|pourriez|merci)\b", re.IGNORECASE)
_TO_ENGLISH = re.compile(
    r"\b(?:en|vers l'|vers l’|in|into|to)\s*(?:anglais|english)\b|\bfr\s*(?:→|->|>|vers|to)\s*en\b", re.IGNORECASE)
_TO_FRENCH = re.compile(
    r"\b(?:en|vers le|in|into|to)\s*(?:fran[cç]ais|french)\b|\ben\s*(?:→|->|>|vers|to)\s*fr\b", re.IGNORECASE)
_WHOLE_FENCE = re.compile(r"^\s*(```+|~~~+)(markdown|md|text|txt)?\s*\n(.*)\n\1\s*$", re.DOTALL)
LANGUAGES = {"fr-en": ("du français", "l'anglais"), "en-fr": ("de l'anglais", "le français")}
NO_TEXT = ("Je n'ai trouvé aucun texte à traduire. Collez le texte après votre consigne, par exemple : "
           "« Traduis en anglais : … » (ou directement le texte : je détecte sa langue).")
TOO_LONG = ("Le texte fait {length} caractères, au-delà de la limite de {limit} caractères de l'agent de "
            "traduction. Découpez-le en plusieurs demandes (par chapitre, par exemple).")
TOO_LONG_DOCUMENT = ("Le document joint « {name} » fait {length} caractères, au-delà de la limite de {limit} "
                     "caractères de l'agent de traduction (RELAIS_TRANSLATION_MAX_CHARS). Joignez-le en plusieurs "
                     "parties (par chapitre, par exemple).")
EMPTY_DOCUMENT = "Le document joint « {name} » ne contient aucun texte à traduire (document vide ou numérisé ?)."
NOTHING_TRANSLATABLE = ("Ce texte ne contient que du code, des nombres ou de la mise en forme : "
                        "il n'y a rien à traduire.")
# What a model that answered, but not in the schema, raises: that part is retried segment by segment, and
# a segment that still fails is kept and reported. Anything else is the model failing (once the catalog's
# retries and fallbacks are spent): the run fails and says so, rather than hand back the source text.
UNUSABLE_ANSWER = SCHEMA_MISFIT
PARTIAL_ATTACHMENT = ("⚠ Open WebUI n'a transmis que {parts} extraits de « {name} » (sa recherche dans le document), "
                      "pas le document entier : seuls ces extraits sont traduits. Pour traduire tout le document, "
                      "cliquez sur le fichier joint et activez « Document entier » (Using Entire Document), ou "
                      "déclarez Relais comme chargeur de documents d'Open WebUI (voir le README).")
PASTED_TEXT = "texte à traduire"  # the fence label of a text pasted in the message
UNTRANSLATED = ("Je n'ai pas pu traduire ce texte : le modèle de traduction n'a rendu aucune traduction exploitable "
                "({segments} segment(s), {calls} appel(s)). Rien n'a été traduit. Réessayez, ou découpez le texte "
                "en parties plus courtes.")


class PartTranslation(BaseModel):
    """What the model returns for one part: one translation per segment, in order."""

    translations: list[str] = Field(description="La traduction de chaque segment, dans l'ordre, une par segment.")


class TranslationState(AgentState):
    """The agent's working state: the request read, the segment translations and what was published."""

    direction: NotRequired[Direction]
    source_text: NotRequired[str]
    translations: NotRequired[list[str]]
    problems: NotRequired[list[str]]
    glossary_note: NotRequired[str]
    published_lines: NotRequired[int]
    untranslated: NotRequired[str]  # why nothing could be translated (the answer, instead of a translation)
    document_name: NotRequired[str]  # the attached document translated, when the text came attached
    attachment_note: NotRequired[str]  # what the user must know about the attachment (only extracts sent)


def read_request(message: str) -> tuple[str, str]:
    """Split a request into (instruction, text to translate); the instruction may be empty."""
    first_line, _, rest = message.strip().partition("\n")
    if not _is_instruction(first_line):
        return "", _unwrap_fence(message.strip())
    instruction, colon, after = first_line.partition(":")
    if colon and after.strip():
        return instruction, _unwrap_fence((after.strip() + "\n" + rest).strip())
    return first_line, _unwrap_fence(rest.strip())


def _is_instruction(line: str) -> bool:
    """Whether a first line asks for a translation rather than starts the text.

    « Traduis en anglais : », « Peux-tu traduire ceci ? », « Translate into French » are instructions;
    « Traduction certifiée conforme de l'AMM » is text that merely starts with the word.
    """
    if len(line) > 300 or not _INSTRUCTION.match(line):
        return False
    asks = line.rstrip().endswith((":", "?")) or ":" in line or bool(_IMPERATIVE.match(line))
    return asks or bool(_TO_ENGLISH.search(line) or _TO_FRENCH.search(line))


def _unwrap_fence(text: str) -> str:
    """Text pasted inside one ``` fence is text to translate, not code."""
    match = _WHOLE_FENCE.match(text)
    return match.group(3) if match and "```" not in match.group(3) else text


def detect_direction(instruction: str, text: str) -> Direction:
    """An explicit target language in the instruction wins; otherwise the text's language decides."""
    if _TO_ENGLISH.search(instruction):
        return "fr-en"
    if _TO_FRENCH.search(instruction):
        return "en-fr"
    return "en-fr" if text_language(text) == "en" else "fr-en"


@cache
def _language_identifier() -> Any:
    """py3langid's model (shipped in the package, loaded once), narrowed to the two languages translated."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(["fr", "en"])
    return identifier


def text_language(text: str) -> str:
    """« fr » or « en »: the text's language by py3langid (character n-grams); French when unsure."""
    language, probability = _language_identifier().classify(text)
    return "en" if language == "en" and probability > 0.6 else "fr"


def part_messages(document: MarkdownDocument, indexes: list[int], direction: Direction,
                  label: str = PASTED_TEXT) -> list[Any]:
    """The system prompt and the part to translate (fenced as data), with the glossary entries its terms need."""
    texts = [document.segments[index].text for index in indexes]
    entries = relevant_entries(texts, direction)
    glossary = "\n".join(f"- {source} → {target}" for source, target in entries) or "(aucun terme du glossaire)"
    source_language, target_language = LANGUAGES[direction]
    segments = fence_untrusted(json.dumps({"segments": texts}, ensure_ascii=False, indent=0), label)
    human = prompts.render("translation_part", source_language=source_language, target_language=target_language,
                           count=str(len(texts)), glossary=glossary, segments=segments)
    return [SystemMessage(prompts.load("translation")), HumanMessage(human)]


def attached_text(documents: tuple[AttachedDocument, ...]) -> tuple[str, str, str]:
    """(text, name, note) of the attached documents: each one's text, one after the other, under a rule."""
    text = "\n\n---\n\n".join(document.text for document in documents)
    name = ", ".join(document.name for document in documents)
    notes = [PARTIAL_ATTACHMENT.format(parts=document.parts, name=document.name)
             for document in documents if document.parts > 1]
    return text, name, "\n\n".join(notes)


def request_refusal(text: str, document_name: str | None) -> str | None:
    """Why this text cannot be translated (empty, over the limit, nothing but code), or None."""
    limit = get_settings().translation_max_chars
    if not text.strip():
        return EMPTY_DOCUMENT.format(name=document_name) if document_name else NO_TEXT
    if len(text) > limit:
        template = TOO_LONG_DOCUMENT if document_name else TOO_LONG
        return template.format(length=len(text), limit=limit, name=document_name)
    if not parse_markdown(text).segments:
        return NOTHING_TRANSLATABLE
    return None


def prepare_translation(spec: AgentSpec, state: TranslationState) -> dict[str, Any]:
    """Read the request: the text (an attached document first), the direction; bad input is refused."""
    attached = attached_request(state["messages"])
    found: dict[str, Any] = {}
    if attached.has_documents:
        text, name, note = attached_text(attached.documents)
        instruction = attached.request
        found = {"document_name": name, "attachment_note": note}
    else:
        instruction, text = read_request(attached.request)
    refusal = request_refusal(text, found.get("document_name"))
    if refusal:
        return {"messages": [publish_answer(refusal)]}
    direction = detect_direction(instruction, text)
    emit_status(f"{spec.title} : {'français → anglais' if direction == 'fr-en' else 'anglais → français'}")
    # The glossary lookup runs on every text (each part gets its own entries): say what it found.
    terms = len(relevant_entries([segment.text for segment in parse_markdown(text).segments], direction))
    emit_status(f"{spec.title} : glossaire BPF — {terms} terme(s) imposé(s) trouvé(s) dans le texte")
    return {"direction": direction, "source_text": text, "published_lines": 0, **found}


def translate_parts(spec: AgentSpec, state: TranslationState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Translate the text part by part (see `_translate_all`)."""
    return _translate_all(spec, state, context_of(runtime))


def assemble_translation(spec: AgentSpec, state: TranslationState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Reassemble the translation with its reports, and its Word file for an attached document (`_assemble`)."""
    return _assemble(spec, state, context_of(runtime).user_id)


def route_after_prepare(state: TranslationState) -> Literal["translate_parts", "__end__"]:
    """A refusal already published ends the run."""
    return "__end__" if isinstance(state["messages"][-1], AIMessage) else "translate_parts"


def build_translation_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile the translation agent: prepare_translation → translate_parts → assemble_translation."""
    builder = StateGraph(TranslationState, context_schema=Context, input_schema=AgentInput,
                         output_schema=AgentOutput)
    builder.add_node("prepare_translation", partial(prepare_translation, spec))
    builder.add_node("translate_parts", partial(translate_parts, spec))
    builder.add_node("assemble_translation", partial(assemble_translation, spec))
    builder.add_edge(START, "prepare_translation")
    builder.add_conditional_edges("prepare_translation", route_after_prepare)
    builder.add_edge("translate_parts", "assemble_translation")
    builder.add_edge("assemble_translation", END)
    return builder.compile(name=spec.label)


def _translate_all(spec: AgentSpec, state: TranslationState, context: Context) -> dict[str, Any]:
    """Translate every part in order, checking the glossary and publishing each finished part."""
    direction: Direction = state["direction"]
    document = parse_markdown(state["source_text"])
    chunks = plan_chunks(document, get_settings().translation_chunk_chars)
    model = get_chat_model(spec.role, spec.sensitivity, schema=PartTranslation, overrides=context.models)
    translations = [segment.text for segment in document.segments]
    done = [False] * len(translations)
    problems: list[str] = []
    report, published, calls = GlossaryReport(direction), 0, [0]
    translated_any = False
    started = time.perf_counter()
    with get_usage_metadata_callback() as usage:
        for number, indexes in enumerate(chunks, start=1):
            emit_status(f"{spec.title} : partie {number}/{len(chunks)}…")
            translated = _translate_part(model, document, indexes, direction, problems, calls,
                                         state.get("document_name") or PASTED_TEXT)
            for index, text in zip(indexes, translated, strict=True):
                if text is not None:  # a segment left in the source language is not checked against the glossary
                    translations[index] = _checked(document.segments[index].text, text, direction, report, problems)
                    translated_any = True
                done[index] = True
            if translated_any:  # until the model has translated something, nothing is shown as a translation
                published = _publish_ready(document, translations, done, published)
    if not translated_any:  # the model answered, but nothing usable: say so (and audit it), never pass the source off
        emit_governance("untranslated", agent=spec.label, segments=len(translations), calls=calls[0])
        return {"untranslated": UNTRANSLATED.format(segments=len(translations), calls=calls[0])}
    emit_status(f"{spec.title} : {len(chunks)} partie(s) traduite(s)", done=True)
    return {"translations": translations, "problems": problems, "published_lines": published,
            "glossary_note": render_report(report), "usage": usage_total(usage.usage_metadata, started, calls[0])}


def _checked(source: str, translation: str, direction: Direction, report: GlossaryReport,
             problems: list[str]) -> str:
    """The glossary check (and its safe fixes) of one segment; `code` spans the model changed are reported."""
    translation = check_segment(source, translation, direction, report)
    if inline_code_spans(source) != inline_code_spans(translation):
        problems.append(f"code en ligne modifié : {', '.join(inline_code_spans(source))} dans « {source[:60]} »")
    return translation


def _translate_part(model: Any, document: MarkdownDocument, indexes: list[int], direction: Direction,
                    problems: list[str], calls: list[int], label: str) -> list[str | None]:
    """One model call for the part; when the count of segments comes back wrong, one call per segment.

    A segment that still fails comes back as None: it stays in the source language and is reported.
    """
    calls[0] += 1
    result = _call(model, document, indexes, direction, label)
    if result is not None and len(result) == len(indexes):
        return list(result)
    if len(indexes) == 1:
        problems.append(f"segment non traduit (laissé tel quel) : « {document.segments[indexes[0]].text[:60]} »")
        return [None]
    return [text for index in indexes
            for text in _translate_part(model, document, [index], direction, problems, calls, label)]


def _call(model: Any, document: MarkdownDocument, indexes: list[int], direction: Direction,
          label: str) -> list[str] | None:
    try:
        answer = model.invoke(part_messages(document, indexes, direction, label))
    except UNUSABLE_ANSWER:  # the caller retries smaller, then keeps and reports the segment
        return None
    return [str(text) for text in answer.translations] if isinstance(answer, PartTranslation) else None


def _publish_ready(document: MarkdownDocument, translations: list[str], done: list[bool], published: int) -> int:
    """Publish the lines not yet shown whose segments are all translated; return the new line count."""
    lines = document.render_lines(translations)
    slots = document.line_slots()
    end = published
    while end < len(lines) and all(done[index] for index in slots[end]):
        end += 1
    if end > published:
        publish_answer(("\n" if published else "") + "\n".join(lines[published:end]))
    return end


def _assemble(spec: AgentSpec, state: TranslationState, user_id: str) -> dict[str, Any]:
    """The whole translation, its structure check, the glossary report and the Word file, exactly as published."""
    if state.get("untranslated"):
        return {"messages": [publish_answer(state["untranslated"])]}
    document = parse_markdown(state["source_text"])
    lines = document.render_lines(state["translations"])
    published = state.get("published_lines", 0)
    translation = "\n".join(lines)
    remainder = ("\n" if published else "") + "\n".join(lines[published:]) if published < len(lines) else ""
    differences = markdown_structure(state["source_text"]).differences(markdown_structure(translation))
    footer = "\n\n---\n\n" + state.get("glossary_note", "") + "\n\n" + _structure_note(differences,
                                                                                          state.get("problems", []))
    update: dict[str, Any] = {}
    if state.get("document_name"):
        line, source = _export_translation(spec, state, document, user_id)
        footer += "\n\n" + "\n\n".join(part for part in (state.get("attachment_note"), line) if part)
        update["sources"] = [source]
    publish_answer(remainder + footer)
    return {"messages": [AIMessage(content=translation + footer)], **update}


def _export_translation(spec: AgentSpec, state: TranslationState, document: MarkdownDocument,
                        user_id: str) -> tuple[str, Any]:
    """Write the translated attachment as .docx; the answer's line linking it, and the source listing it."""
    emit_status(f"{spec.title} : export Word (.docx)…")
    name = state["document_name"]
    source_language, target_language = LANGUAGES[state["direction"]]
    word = translated_document(document, state["translations"], title=f"{name} — traduction",
                               subtitle=f"Traduit {source_language} vers {target_language}, glossaire BPF appliqué.")
    exported = export_docx(word, file_title=f"{name.rsplit('.', 1)[0]}-traduction", user_id=user_id)
    source = export_source(exported, "Traduction")
    emit_sources([source])
    emit_status(f"{spec.title} : document traduit prêt", done=True)
    return f"**Document traduit (Word)** : [{exported.name}]({exported.url})", source


def _structure_note(differences: list[str], problems: list[str]) -> str:
    if not differences and not problems:
        return "**Structure** : titres, tableaux, listes et blocs de code identiques à l'original."
    notes = [f"- {item}" for item in [*differences, *problems]]
    return "**Structure — à vérifier** :\n" + "\n".join(notes)
