"""What the regulatory answer may cite, checked in code: the references of the extracts it was given.

`retrievers.citations.verify_answer` flags a reference that does not exist in the guide. A reference that
does exist but names no extract the model was given (« [Partie I, §9.9] » when chapter 9 was never
retrieved) is the model citing from memory: the statement it supports rests on nothing the user can
check, so the reference is removed here and the answer says so. The sources sent to Open WebUI are one
per passage, each named by its reference, so its source list shows every extract.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from langchain_core.documents import Document

from relais.events import emit_status
from relais.sources import Source
from retrievers.bpf_references import (
    Reference,
    chapter_key,
    check_references,
    expand_paragraphs,
    find_references,
    part_key,
)
from retrievers.citations import PARTIAL, RELIABLE, CitationReport, find_quotes, source_title, verify_answer

ABSENT_REMOVED = "[référence retirée : absente des extraits]"
UNCITED = "Aucune affirmation de cette réponse ne renvoie à un extrait du guide (ni référence, ni citation vérifiée)"
_BRACKETS = {"[": "]", "(": ")"}


@dataclass
class ReferenceCheck:
    """The answer with references absent from the extracts removed or flagged, and those references."""

    answer: str
    unsupported: list[Reference] = field(default_factory=list)


@dataclass(frozen=True)
class _Cited:
    """What one extract may be cited as: its part, its chapter key and its paragraph numbers."""

    part: str
    chapter: str
    paragraphs: frozenset[str]


def remove_unsupported_references(
    answer: str, chunks: list[Document], known: set[tuple[str, str]], chapters: dict[str, set[str]]
) -> ReferenceCheck:
    """Remove (or flag, inside a sentence) each reference to the guide that no extract carries.

    Only references that exist in the guide are judged here: a non-existent one is left for
    `verify_answer`, which says why it does not exist. References inside a quotation are the guide's own
    words; a part named alone (« la Partie II ») is a mention, not a citation.
    """
    quoted = [(quote.start, quote.end) for quote in find_quotes(answer) if not quote.block]
    references = [ref for ref in find_references(answer) if not any(a <= ref.start < b for a, b in quoted)]
    cited = [_cited(chunk.metadata) for chunk in chunks]
    unsupported = [ref for ref in check_references(references, known, chapters)
                   if ref.reason is None and (ref.chapter or ref.paragraph) and not _supported(ref, cited)]
    if not unsupported:
        return ReferenceCheck(answer)
    text = _edited(answer, unsupported, references).replace(RELIABLE, PARTIAL).rstrip()
    removed = ", ".join(dict.fromkeys(ref.text for ref in unsupported))
    text += (f"\n\n> {PARTIAL} Vérification automatique des références : {len(unsupported)} référence(s) "
             f"absente(s) des extraits fournis retirée(s) ({removed}).")
    return ReferenceCheck(text, unsupported)


def checked_answer(answer: str, chunks: list[Document], collection: str) -> CitationReport:
    """`answer` with references absent from the extracts removed, then quotations and references verified.

    References the extracts do not carry go first (the model cited from memory); then quotations are checked
    verbatim and references that do not exist in the guide are flagged. The user is told the counts.
    """
    from retrievers.search import chapters_by_part, known_references

    chapters = {part: set(titles) for part, titles in chapters_by_part(collection).items()}  # names are what counts
    known = known_references(collection)
    checked = remove_unsupported_references(answer, chunks, known, chapters)
    report = verify_answer(checked.answer, chunks, known, chapters)
    kept, removed = len(report.verified_quotes), len(report.removed_quotes)
    flagged, absent = len(report.invalid_references), len(checked.unsupported)
    emit_status(f"Citations vérifiées : {kept} conservée(s), {removed} retirée(s), {flagged} référence(s) "
                f"introuvable(s), {absent} absente(s) des extraits", done=True)
    return report


def cites_beyond(text: str, chunks: list[Document], known: set[tuple[str, str]], chapters: dict[str, set[str]]) -> bool:
    """Whether `text` names a chapter or paragraph that does not exist, or that none of `chunks` carries."""
    references = [ref for ref in check_references(find_references(text), known, chapters)
                  if ref.chapter or ref.paragraph]  # a part named alone is a mention, not a citation
    cited = [_cited(chunk.metadata) for chunk in chunks]
    return any(ref.reason is not None or not _supported(ref, cited) for ref in references)


def warn_if_uncited(report: CitationReport) -> str:
    """The verified answer, with a warning when no statement points to an extract.

    A small model may answer in the guide's words without one reference (« La Partie I recommande… »):
    nothing then lets the reader check which extract says what, so ✅ cannot stand. A part named alone
    is not a reference; a chapter, an annex, a paragraph or a verified quotation is.
    """
    if report.verified_quotes or any(ref.chapter or ref.paragraph for ref in report.valid_references):
        return report.answer
    return (report.answer.replace(RELIABLE, PARTIAL).rstrip()
            + f"\n\n> {PARTIAL} {UNCITED} : vérifiez chaque point dans les sources ci-dessous.")


def _cited(metadata: dict) -> _Cited:
    listed = [p for p in str(metadata.get("paragraphs") or "").split(";") if p]
    numbers = listed or expand_paragraphs(str(metadata.get("paragraph") or ""))
    return _Cited(part_key(str(metadata.get("part") or "")), chapter_key(str(metadata.get("chapter") or "")),
                  frozenset(number.strip().rstrip(".") for number in numbers if number))


def _supported(ref: Reference, cited: list[_Cited]) -> bool:
    """Whether some extract lies in the reference's scope and, for a paragraph, holds both its ends."""
    in_scope = [extract for extract in cited
                if (ref.part is None or part_key(ref.part) == extract.part)
                and (ref.chapter is None or chapter_key(ref.chapter) == extract.chapter)]
    if not ref.paragraph:
        return bool(in_scope)
    wanted = expand_paragraphs(ref.paragraph)
    return all(any(end in extract.paragraphs for extract in in_scope) for end in {wanted[0], wanted[-1]})


def _edited(answer: str, unsupported: list[Reference], references: list[Reference]) -> str:
    """A bracket holding only unsupported references is replaced; elsewhere a flag follows the reference."""
    edits: list[tuple[int, int, str]] = []
    for start, end in dict.fromkeys((ref.start, ref.end) for ref in unsupported):
        in_span = [ref for ref in references if (ref.start, ref.end) == (start, end)]
        absent = [ref for ref in unsupported if (ref.start, ref.end) == (start, end)]
        opening, closing = answer[start - 1 : start], answer[end : end + 1]
        bracketed = bool(closing) and _BRACKETS.get(opening) == closing
        if bracketed and len(absent) == len(in_span):
            edits.append((start - 1, end + 1, ABSENT_REMOVED))
        else:
            numbers = ", ".join(f"§{ref.paragraph}" if ref.paragraph else ref.text for ref in absent)
            after = end + 1 if bracketed else end  # the flag follows the bracket, not inside it
            edits.append((after, after, f" [{numbers} : absent des extraits]"))
    for start, end, replacement in sorted(edits, reverse=True):
        answer = answer[:start] + replacement + answer[end:]
    return answer


def passage_sources(chunks: list[Document]) -> list[Source]:
    """One source per passage, named by its reference: Open WebUI lists each one (never merged).

    Two passages with the same reference (a chapter's unnumbered text) get numbered names, since
    sources are told apart by name (`relais.sources.source_key`); a passage given twice is sent once.
    """
    sources: list[Source] = []
    seen: set[str] = set()
    names: Counter[str] = Counter()
    for chunk in chunks:
        if chunk.page_content in seen:
            continue
        seen.add(chunk.page_content)
        metadata = {key: value for key, value in chunk.metadata.items() if value not in (None, "")}
        title = source_title(metadata)
        names[title] += 1
        name = title if names[title] == 1 else f"{title} ({names[title]})"
        sources.append(Source(title=name, text=chunk.page_content, metadata=metadata))
    return sources
