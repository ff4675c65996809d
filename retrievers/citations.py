"""Verify an answer against the extracts it was written from, and build the sources it cites.

Quotations (text in «…», “…”, "…" or a Markdown blockquote) must appear verbatim in one of the
extracts after white-space and quote/apostrophe normalisation (case is kept); an unverifiable one is
replaced by a visible marker, never shown as a citation. References ("Partie I, chapitre 2, §2.10",
"Annexe 11 §4.8"...) must exist in the index; a non-existent one is flagged in the text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from langchain_core.documents import Document

from relais.sources import Source, source_key
from retrievers.bpf_references import Reference, check_references, expand_paragraphs, find_references

QUOTE_REMOVED = "[citation non vérifiée retirée]"
REFERENCE_FLAG = "[référence introuvable dans le guide]"
RELIABLE, PARTIAL = "✅", "⚠️"
MIN_QUOTE_WORDS = 4  # shorter quoted text is a term ("vide de ligne"), not a citation
STRUCTURED_SECTIONS = (
    "Parties concernées",
    "Références",
    "Synthèse",
    "Comparaison entre parties",
    "Détails",
    "Citations exactes",
    "Fiabilité",
)

_UNIFORM = str.maketrans(
    {
        "’": "'", "‘": "'", "ʼ": "'", "´": "'", "`": "'",
        "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
        "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u00ad": None,
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    }
)
_INLINE_QUOTES = (
    re.compile(r"«(?P<q>[^«»]+)»"),
    re.compile(r"“(?P<q>[^“”]+)”"),
    re.compile(r'"(?P<q>[^"\n]+)"'),
)
_BLOCKQUOTE = re.compile(r"(?m)^[ \t]*>[^\n]*(?:\n[ \t]*>[^\n]*)*")
_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|\(\s*(?:…|\.\.\.)\s*\)|…|\.\.\.)\s*")
_EDGE_PUNCTUATION = " \t\n.,;:!?*_\"'«»“”"
# A blockquote used as a callout, not a quotation: "> ⚠️ ...", "> **Note** ...".
_CALLOUT = re.compile(r"^\W*(?:✅|⚠|❌|ℹ|💡|note|remarque|attention|important)", re.IGNORECASE)
# A trailing attribution after a quotation: "— Partie I, §2.10", "(BPF I-2.10)".
_ATTRIBUTION = re.compile(
    r"\s*(?:[—–-]\s*|\()(?:BPF|Partie|Part|Annexe|Annex|LD|ICH|chapitre|§)[^—–()\n]{0,60}\)?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class CheckedQuote:
    """A quotation found in the answer, and the extract that holds it (None when not found)."""

    text: str
    chunk_id: str | None = None


@dataclass
class CitationReport:
    """The cleaned answer and what the verification found."""

    answer: str
    verified_quotes: list[CheckedQuote] = field(default_factory=list)
    removed_quotes: list[CheckedQuote] = field(default_factory=list)
    valid_references: list[Reference] = field(default_factory=list)
    invalid_references: list[Reference] = field(default_factory=list)
    supporting_chunks: list[Document] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing had to be removed or flagged."""
        return not self.removed_quotes and not self.invalid_references


@dataclass(frozen=True)
class _Quote:
    text: str  # the quoted words
    start: int  # span to replace when it cannot be verified, quote marks included
    end: int
    block: bool = False


def verify_answer(
    answer: str, chunks: list[Document], known: set[tuple[str, str]], chapters: dict[str, set[str]]
) -> CitationReport:
    """Check every quotation against `chunks` and every reference against the index.

    Args:
        answer: the model's answer, Markdown.
        chunks: the extracts the model was given.
        known: (part, paragraph) pairs that exist in the index, e.g. ("I", "2.10").
        chapters: part -> its chapters or annexes, e.g. {"I": {"1", ..., "9"}, "Annexes": {"Annexe 11"}}.

    Returns:
        The answer with unverifiable quotations replaced by QUOTE_REMOVED, non-existent references
        followed by REFERENCE_FLAG and a closing warning when anything was changed.
    """
    haystacks: list[tuple[str | None, str]] = [(_chunk_id(chunk, i), normalise(chunk.page_content))
                                               for i, chunk in enumerate(chunks)]
    haystacks.append((None, normalise(" ".join(c.page_content for c in chunks))))  # a quote across two extracts
    report = CitationReport(answer=answer)
    edits: list[tuple[int, int, str]] = []
    quotes = find_quotes(answer)
    for quote in quotes:
        found, holder = _find_holder(quote.text, haystacks)
        if found:
            report.verified_quotes.append(CheckedQuote(quote.text.strip(), holder))
        else:
            report.removed_quotes.append(CheckedQuote(quote.text.strip()))
            edits.append((quote.start, quote.end, f"> {QUOTE_REMOVED}" if quote.block else QUOTE_REMOVED))
    # A reference inside an inline quotation is the guide's own text ("voir le chapitre 4"), not a claim.
    quoted_spans = [(q.start, q.end) for q in quotes if not q.block]
    references = [r for r in find_references(answer) if not any(a <= r.start < b for a, b in quoted_spans)]
    for ref in check_references(references, known, chapters):
        (report.invalid_references if ref.reason else report.valid_references).append(ref)
    flagged_ends = sorted({ref.end for ref in report.invalid_references})
    edits += [(end, end, f" {REFERENCE_FLAG}") for end in flagged_ends if not _inside(end, edits)]
    report.answer = _apply(answer, edits)
    if not report.clean:
        # ✅ promises that every statement rests on a verified extract: no longer true.
        report.answer = report.answer.replace(RELIABLE, PARTIAL).rstrip() + _warning(report)
    report.supporting_chunks = _supporting_chunks(report, chunks)
    return report


def find_quotes(answer: str) -> list[_Quote]:
    """Quotations long enough to be citations: inline ones, then blockquotes without inline quotes."""
    candidates = [_Quote(m["q"], m.start(), m.end()) for pattern in _INLINE_QUOTES for m in pattern.finditer(answer)]
    quotes: list[_Quote] = []
    for candidate in sorted(candidates, key=lambda q: (q.start, -q.end)):
        if not any(q.start <= candidate.start < q.end for q in quotes):  # not nested in a longer one
            quotes.append(candidate)
    for match in _BLOCKQUOTE.finditer(answer):
        if any(match.start() <= q.start < match.end() for q in quotes):
            continue
        text = re.sub(r"(?m)^[ \t]*>[ \t]?(?:[-*+][ \t]+)?", "", match.group()).replace("\n", " ")
        if _CALLOUT.match(text):
            continue
        quotes.append(_Quote(_ATTRIBUTION.sub("", text), match.start(), match.end(), block=True))
    kept = [q for q in quotes if len(_ELLIPSIS.sub(" ", q.text).split()) >= MIN_QUOTE_WORDS]
    return sorted(kept, key=lambda q: q.start)


def normalise(text: str) -> str:
    """Text as compared: NFC, one kind of quote, apostrophe and dash, single spaces, none before punctuation.

    Markdown bold marks go too: a model may bold a word inside a quotation.
    """
    text = unicodedata.normalize("NFC", text).translate(_UNIFORM).replace("**", "").replace("__", "")
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r" (?=[,.;:!?)\]])", "", text)  # "qualité :" and "qualité:" are the same words
    return re.sub(r' ?" ?', '"', text)


def _find_holder(quote: str, haystacks: list[tuple[str | None, str]]) -> tuple[bool, str | None]:
    """Whether an extract holds every fragment of `quote` in order, and its id (None: across extracts)."""
    fragments = [normalise(f).strip(_EDGE_PUNCTUATION) for f in _ELLIPSIS.split(quote)]
    fragments = [f for f in fragments if f]
    for chunk_id, text in haystacks:
        position = 0
        for fragment in fragments:
            position = text.find(fragment, position)
            if position < 0:
                break
            position += len(fragment)
        else:
            return True, chunk_id
    return False, None


def _chunk_id(chunk: Document, index: int) -> str:
    return str(chunk.metadata.get("chunk_id") or chunk.id or f"#{index}")


def _inside(position: int, edits: list[tuple[int, int, str]]) -> bool:
    return any(start <= position <= end and start != end for start, end, _ in edits)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _warning(report: CitationReport) -> str:
    problems = []
    if report.removed_quotes:
        problems.append(f"{len(report.removed_quotes)} citation(s) retirée(s) car absente(s) des extraits du guide")
    if report.invalid_references:
        reasons = "; ".join(dict.fromkeys(ref.reason or "" for ref in report.invalid_references))
        problems.append(f"{len(report.invalid_references)} référence(s) introuvable(s) ({reasons})")
    return f"\n\n> {PARTIAL} Vérification automatique des citations : " + " ; ".join(problems) + "."


def _supporting_chunks(report: CitationReport, chunks: list[Document]) -> list[Document]:
    """The extracts holding a verified quotation or a validly referenced paragraph, in extract order."""
    quoted = {quote.chunk_id for quote in report.verified_quotes}
    cited = {
        (ref.part, paragraph)
        for ref in report.valid_references
        if ref.paragraph
        for paragraph in expand_paragraphs(ref.paragraph)
    }
    supporting = []
    for index, chunk in enumerate(chunks):
        part = chunk.metadata.get("part")
        paragraphs = _chunk_paragraphs(chunk.metadata)
        if _chunk_id(chunk, index) in quoted or any(
            (p, para) in cited for para in paragraphs for p in (part, None)
        ):
            supporting.append(chunk)
    return supporting


def _chunk_paragraphs(metadata: dict) -> list[str]:
    """The paragraphs a chunk holds: its exact "paragraphs" list ("2.10;2.12") or its "paragraph" range."""
    listed = [p for p in str(metadata.get("paragraphs") or "").split(";") if p]
    return listed or expand_paragraphs(str(metadata.get("paragraph") or ""))


def source_title(metadata: dict) -> str:
    """"BPF Partie I — Chapitre 2 — §2.10", "BPF Annexe 11 — §4.8", "BPF Partie III — ICH Q9"."""
    pieces = _reference_pieces(metadata)
    paragraph = pieces[-1] if pieces and pieces[-1].startswith("§") else None
    if paragraph and "-" in paragraph:
        pieces[-1] = "§" + paragraph
    named = [piece[:1].upper() + piece[1:] for piece in pieces]
    return "BPF " + " — ".join(named) if named else "BPF"


def reference_label(metadata: dict) -> str:
    """How an extract is cited in an answer: "Partie I, chapitre 2, §2.10", "Annexe 11, §4.8"."""
    return ", ".join(_reference_pieces(metadata)) or "BPF"


def _reference_pieces(metadata: dict) -> list[str]:
    part = metadata.get("part")
    chapter = str(metadata.get("chapter") or "").strip()
    paragraph = str(metadata.get("paragraph") or "").strip()
    pieces = []
    if part == "Annexes":
        pieces.append(f"Annexe {chapter}" if chapter.isdigit() else chapter or "Annexes")
    else:
        pieces += [f"Partie {part}"] if part else []
        pieces += [f"chapitre {chapter}" if chapter.isdigit() else chapter] if chapter else []
    return pieces + ([f"§{paragraph}"] if paragraph else [])


def format_extracts(chunks: list[Document]) -> str:
    """The extracts for the `{extracts}` placeholder, one `<extrait>` each with the reference to cite."""
    blocks = []
    for number, chunk in enumerate(chunks, start=1):
        title = chunk.metadata.get("chapter_title")
        attributes = f'n="{number}" référence="{reference_label(chunk.metadata)}"'
        attributes += f' titre="{str(title).replace(chr(34), chr(39))}"' if title else ""
        # An extract must not close the data section and pass the rest off as instructions.
        text = re.sub(r"</?\s*extraits?\b", lambda m: m.group().replace("<", "‹"), chunk.page_content, flags=re.I)
        blocks.append(f"<extrait {attributes}>\n{text.strip()}\n</extrait>")
    return "\n".join(blocks)


def sources_for(chunks: list[Document]) -> list[Source]:
    """Open WebUI sources for `chunks`, one per paragraph title (split paragraphs are joined)."""
    by_title: dict[str, Source] = {}
    for chunk in chunks:
        metadata = {k: v for k, v in chunk.metadata.items() if v not in (None, "")}
        source = Source(title=source_title(metadata), text=chunk.page_content, metadata=metadata)
        key = source_key(source)
        if key in by_title:
            if chunk.page_content not in by_title[key]["text"]:  # the same extract retrieved twice
                by_title[key]["text"] += "\n" + chunk.page_content
        else:
            by_title[key] = source
    return list(by_title.values())


def sources_markdown(sources: list[Source]) -> str:
    """The "Sources" list that closes an answer (empty when there is no source)."""
    if not sources:
        return ""
    lines = ["", "", "**Sources**", ""]
    for number, source in enumerate(sources, start=1):
        chapter_title = source.get("metadata", {}).get("chapter_title")
        lines.append(f"{number}. {source['title']}" + (f" ({chapter_title})" if chapter_title else ""))
    return "\n".join(lines)


def structured_sections_present(answer: str) -> dict[str, bool]:
    """Which sections of the `/bpf` format the answer has, as headings or bold labels."""
    starts = [_plain(line) for line in answer.splitlines() if _looks_like_heading(line)]
    return {name: any(start.startswith(_plain(name)) for start in starts) for name in STRUCTURED_SECTIONS}


def _looks_like_heading(line: str) -> bool:
    """A Markdown heading, a bold label, or a short line that is not a list item or a sentence."""
    stripped = line.strip()
    if stripped.startswith(("#", "**", "__")):
        return True
    is_list_item = re.match(r"[-*+]\s", stripped) is not None
    return 0 < len(stripped) <= 60 and not is_list_item and not stripped.endswith(".")


def _plain(text: str) -> str:
    """Lower case, no accents, no Markdown marks, numbering or emoji at the start."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return re.sub(r"^[\W\d_]+", "", text)
