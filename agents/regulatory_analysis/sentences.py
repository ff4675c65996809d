"""The extracts cut into numbered sentences, and the answer that quotes the sentences a model picked.

Each sentence keeps the paragraph it belongs to, read from the paragraph numbers that open the guide's lines
(« 5.27. La sélection… »), so a quotation is followed by its own reference (Partie I, chapitre 5, §5.27)
rather than by the range of its whole passage. A sentence's text is the guide's, white space aside: quoted
« … », it passes the verbatim check of `retrievers.citations.verify_answer` by construction.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import groupby

from langchain_core.documents import Document

from retrievers.citations import normalise, reference_label

MIN_WORDS = 4  # a shorter line is a heading (« MATIÈRES PREMIÈRES », « Excipients »), not a statement
MAX_LIST_ITEMS = 12  # items of a list quoted after the sentence that announces it
# « 5.27. La sélection », « 4.8 Les contrôles », « 7. Les fabricants » (annexes number some paragraphs alone)
_NUMBERED_LINE = re.compile(r"^(\d+(?:\.\d+)+|\d+(?=\.))\.?\s+(?=\S)")
_LIST_MARK = re.compile(r"^[-–•*]\s+")
_UNFINISHED = re.compile(r"[^.!?;:»)]$")  # a line the PDF broke inside a sentence
_CONTINUES = re.compile(r"^[a-zà-öø-ÿ]")
# A sentence ends at . ! ? before a capital or an opening quote; « iv. », « art. » are mended afterwards.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[«\"“(A-ZÀ-ÖØ-Þ])")
_FENCE = re.compile(r"</?\s*phrases\b", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    """One sentence of the extracts: the number the model sees, the guide's words and where they stand."""

    number: int
    text: str
    passage: int  # index of its extract in the list the model was given
    paragraph: str  # « 5.27 »; empty when its extract has no numbered paragraph


def numbered_sentences(chunks: list[Document]) -> list[Sentence]:
    """Every sentence of the extracts, numbered from 1 in extract order; a sentence given twice is kept once.

    Passages that overlap (a long paragraph split with some overlap, then joined back) repeat sentences:
    each is offered once, where it first appears.
    """
    sentences: list[Sentence] = []
    seen: set[str] = set()
    for index, chunk in enumerate(chunks):
        for paragraph, text in _passage_sentences(chunk):
            key = normalise(text)
            if key in seen:
                continue
            seen.add(key)
            sentences.append(Sentence(len(sentences) + 1, text, index, paragraph))
    return sentences


def _passage_sentences(chunk: Document) -> list[tuple[str, str]]:
    """(paragraph, sentence) pairs of one extract; headings and other short lines left out."""
    listed = [number for number in str(chunk.metadata.get("paragraphs") or "").split(";") if number]
    paragraph = listed[0] if listed else ""  # a passage that starts inside a paragraph continues its first
    found = []
    for line in _mended_lines(chunk.page_content):
        numbered = _NUMBERED_LINE.match(line)
        if numbered and numbered.group(1) in listed:  # a numbered list item is not a paragraph of the guide
            paragraph, line = numbered.group(1), line[numbered.end():]
        found += [(paragraph, sentence) for sentence in split_sentences(_LIST_MARK.sub("", line))
                  if len(sentence.split()) >= MIN_WORDS]
    return found


def _mended_lines(text: str) -> list[str]:
    """The extract's lines, a line the PDF broke mid-sentence joined to the next one that carries on."""
    lines: list[str] = []
    for line in (line.strip() for line in text.splitlines()):
        if lines and lines[-1] and line and _UNFINISHED.search(lines[-1]) and _CONTINUES.match(line):
            lines[-1] += " " + line
        else:
            lines.append(line)
    return lines


def split_sentences(line: str) -> list[str]:
    """The sentences of one line of the guide, white space collapsed."""
    pieces = [" ".join(piece.split()) for piece in _SENTENCE_END.split(line) if piece.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and len(sentences[-1].split()) < MIN_WORDS:  # « iv. » or « art. » opens the next sentence
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


def closest_sentences(question: str, sentences: list[Sentence], limit: int) -> list[Sentence]:
    """The `limit` sentences closest in meaning to the question, the closest first.

    Offered fifty sentences in extract order, the embedded model picked the first ones and read a 3,000-token
    prompt; the retrieval's embeddings (cached by content) put the answering sentence first or nearly so in
    most tuning questions, so a small model's leaning towards the first numbers becomes a strength.
    """
    import numpy as np

    from retrievers.embeddings import get_embeddings

    if not sentences:
        return []
    embeddings = get_embeddings()
    query = np.asarray(embeddings.embed_query(question))
    vectors = np.asarray(embeddings.embed_documents([sentence.text for sentence in sentences]))
    similarity = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query) + 1e-12)
    return [sentences[index] for index in np.argsort(-similarity, kind="stable")[:limit].tolist()]


def with_their_lists(picked: list[Sentence], sentences: list[Sentence]) -> list[Sentence]:
    """The picked sentences, each one that announces a list (« …les tâches suivantes : ») with the list's items.

    The items are the sentences that follow it in its paragraph: quoted without them, the announcement says
    nothing. At most MAX_LIST_ITEMS each.
    """
    chosen = {sentence.number for sentence in picked}
    for sentence in picked:
        if not sentence.text.rstrip().endswith(":"):
            continue
        following = [other for other in sentences if other.number > sentence.number
                     and other.passage == sentence.passage]
        for item in following[:MAX_LIST_ITEMS]:
            if item.paragraph != sentence.paragraph:
                break
            chosen.add(item.number)
    return [sentence for sentence in sentences if sentence.number in chosen]


def sentences_block(offered: list[Sentence], chunks: list[Document]) -> str:
    """The sentences as the model reads them: numbered from 1 in the order given, each with its reference."""
    # an extract must not close the section and pass the rest off as instructions
    return "\n".join(f"[{position}] ({sentence_reference(sentence, chunks)}) "
                     + _FENCE.sub(lambda m: m.group().replace("<", "‹"), sentence.text)
                     for position, sentence in enumerate(offered, start=1))


def sentence_reference(sentence: Sentence, chunks: list[Document]) -> str:
    """How a sentence is cited: its extract's reference narrowed to its own paragraph."""
    metadata = chunks[sentence.passage].metadata
    return reference_label({**metadata, "paragraph": sentence.paragraph} if sentence.paragraph else metadata)


def guide_order(chunks: list[Document]) -> list[int]:
    """The extracts' indices in the order of the guide (line in the guide's text; retrieval order otherwise)."""
    def place(index: int) -> tuple[float, int]:
        line = chunks[index].metadata.get("line")
        return (line if isinstance(line, int) and line >= 0 else math.inf, index)

    return sorted(range(len(chunks)), key=place)


def in_guide_order(sentences: list[Sentence], chunks: list[Document]) -> list[Sentence]:
    """`sentences` by extract in the guide's order, then in their extract's order."""
    rank = {passage: position for position, passage in enumerate(guide_order(chunks))}
    return sorted(sentences, key=lambda sentence: (rank[sentence.passage], sentence.number))


def quoted_answer(picked: list[Sentence], chunks: list[Document]) -> str:
    """The picked sentences quoted « … », each followed by its reference, grouped by extract in the guide's order.

    Sentences that follow each other in one paragraph make one quotation. An extract opens with its chapter's
    name, unless the extract before it had the same one.
    """
    lines: list[str] = []
    previous_heading = None
    for passage, members in groupby(in_guide_order(picked, chunks), key=lambda sentence: sentence.passage):
        heading = _heading({**chunks[passage].metadata, "paragraph": ""})
        if heading != previous_heading:
            lines += ["", f"**{heading}**"] if lines else [f"**{heading}**"]
            previous_heading = heading
        lines += [f"- {_quoted(' '.join(s.text for s in run))} ({sentence_reference(run[0], chunks)})"
                  for run in _runs(list(members), chunks[passage].page_content)]
    return "\n".join(lines)


def cited_chunks(picked: list[Sentence], chunks: list[Document]) -> list[Document]:
    """The extracts a picked sentence comes from, in the guide's order."""
    passages = {sentence.passage for sentence in picked}
    return [chunks[index] for index in guide_order(chunks) if index in passages]


def _runs(sentences: list[Sentence], extract: str) -> list[list[Sentence]]:
    """Sentences of one extract cut into quotations, each one verbatim.

    A run stops where the numbering jumps, the paragraph changes, or what lies between two sentences is more
    than white space (a list's « - » marks).
    """
    text = normalise(extract)
    runs: list[list[Sentence]] = []
    for sentence in sentences:
        last = runs[-1] if runs else None
        if (last and last[-1].number + 1 == sentence.number and last[-1].paragraph == sentence.paragraph
                and normalise(" ".join(s.text for s in (*last, sentence))) in text):
            last.append(sentence)
        else:
            runs.append([sentence])
    return runs


def _quoted(text: str) -> str:
    """« text », or “text” when the guide's own words hold guillemets (a quotation cannot nest in « »)."""
    return f"“{text}”" if "«" in text or "»" in text else f"« {text} »"


def _heading(metadata: dict) -> str:
    title = metadata.get("chapter_title")
    return reference_label(metadata) + (f" ({title})" if title else "")
