"""References to the GMP guide written in an answer: find them, and check they exist in the index.

Written forms understood: "Partie I, chapitre 2, §2.10", "Partie II 7.40", "Annexe 11 §4.8", "LD.1 §118",
"BPF I-2.10", "(Partie I, 5.50)", "§2.10 de la Partie I", "ICH Q10 §1.5.1", "Partie I, §§2.10-2.12",
and English ("Part I, chapter 2"). Adjacent mentions joined by commas, "et", "de la"... form one group;
a paragraph takes the part (or annex) named in its group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARTS = ("I", "II", "III", "IV", "Annexes")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10}
_PART_NAMES = {1: "I", 2: "II", 3: "III", 4: "IV"}
# Parts whose paragraph numbers start with their chapter number (Partie I 2.10 is in chapter 2).
_CHAPTER_NUMBERED_PARTS = {"I", "II", "IV"}

_TOKEN = re.compile(
    r"""
    (?P<part_tok>\b(?:partie|part|bpf)\s*(?P<part>X|IX|VIII|VII|VI|V|IV|III|II|I|[1-9])\b)
    | (?P<annex_tok>\b(?:annexes?|annex|ld)\s*\.?\s*(?:n°\s*)?(?P<annex>\d{1,2})\b(?!\.\d))
    | (?P<ich_tok>\bICH\s*Q\s*(?P<ich>9|10)\b)
    | (?P<chapter_tok>\b(?:chapitres?|chap\.|chapters?|ch\.|sections?)\s*(?P<chapter>\d{1,2})\b(?!\.\d))
    | (?P<para_tok>
        (?:(?P<marker>§§?|\bparagraphes?|\bparagraphs?|\bpara\.|\bpoints?|\bsections?)\s*)?
        (?<![\d.])(?P<para>\d{1,3}(?:\.\d{1,3}){0,3})(?!\.?\d)
        (?:\s*(?:-|–|à|au|to)\s*(?P<para_end>\d{1,3}(?:\.\d{1,3}){0,3})(?!\.?\d))?
      )
    """,
    re.IGNORECASE | re.VERBOSE,
)
# What may separate two mentions of one reference: punctuation and a few linking words.
_CONNECTOR = re.compile(
    r"[\s,;:()\[\]/\-–—]*(?:(?:et|and|ou|or|de\s+la|de\s+l['’]|du|des|de|of|the|in|dans\s+la|dans\s+l['’]"
    r"|la|l['’]|le|les)\b[\s,;:()\[\]/\-–—]*)*",
    re.IGNORECASE,
)
_MAX_CONNECTOR_CHARS = 25


@dataclass(frozen=True)
class Reference:
    """One reference found in an answer; `reason` says why it is invalid (None when it exists)."""

    text: str  # as written, the whole group it belongs to
    part: str | None  # "I".."IV", "Annexes", another numeral ("V") to be flagged, or None if unnamed
    chapter: str | None  # a chapter key: "2", "11" (an annex), "ICH Q9"
    paragraph: str | None  # "2.10" or a range "2.10-2.12"
    start: int
    end: int
    reason: str | None = None


@dataclass
class _Mention:
    kind: str
    value: str
    start: int
    end: int
    end_value: str | None = None
    marker: str = ""  # "§", "point"... when the paragraph number is introduced by one


def find_references(answer: str) -> list[Reference]:
    """Every reference to the guide in `answer`, in order (not yet checked)."""
    references: list[Reference] = []
    for group in _group_mentions(_mentions(answer), answer):
        references.extend(_references_of(group, answer))
    return references


def check_references(
    references: list[Reference], known: set[tuple[str, str]], chapters: dict[str, set[str]]
) -> list[Reference]:
    """The same references, each with `reason` set when it does not exist in the index."""
    paragraphs = _known_paragraphs(known)
    chapter_keys = {part_key(part): {chapter_key(c) for c in names} for part, names in chapters.items()}
    return [_with_reason(ref, paragraphs, chapter_keys) for ref in references]


def part_key(part: str) -> str:
    """"Partie I", "I", "1" -> "I"; "Annexes"/"Annexe" -> "Annexes"."""
    text = part.strip()
    if text.lower().startswith("annex"):
        return "Annexes"
    text = re.sub(r"^(?:partie|part)\s*", "", text, flags=re.IGNORECASE).upper()
    if text.isdigit():
        return _PART_NAMES.get(int(text), text)
    return text


def chapter_key(chapter: str) -> str:
    """"Annexe 11", "LD.11", "11", "Chapitre 11" -> "11"; "ICH Q9" -> "ICH Q9"."""
    text = chapter.strip()
    ich = re.fullmatch(r"ICH\s*Q\s*(\d+)", text, re.IGNORECASE)
    if ich:
        return f"ICH Q{ich.group(1)}"
    number = re.fullmatch(r"(?:annexes?|annex|ld|chapitre|chapter|section)?\s*\.?\s*0*(\d+)\.?", text, re.I)
    return number.group(1) if number else text.casefold()


def expand_paragraphs(paragraph: str) -> list[str]:
    """"2.10-2.12" -> ["2.10", "2.11", "2.12"]; "5.50." -> ["5.50"]; other labels as they are."""
    first, sep, last = (piece.strip().rstrip(".") for piece in paragraph.partition("-"))
    if not sep:
        return [first]
    head, _, low = first.rpartition(".")
    last_head, _, high = last.rpartition(".")
    if not last_head:  # "2.10-12"
        last_head, high = head, last
    if head != last_head or not (low.isdigit() and high.isdigit()) or not 0 <= int(high) - int(low) <= 200:
        return [first, last]
    prefix = f"{head}." if head else ""
    return [f"{prefix}{number}" for number in range(int(low), int(high) + 1)]


def _mentions(answer: str) -> list[_Mention]:
    found = []
    for match in _TOKEN.finditer(answer):
        kind = match.lastgroup or ""
        if kind == "part_tok":
            numeral = match["part"].upper()
            value = _PART_NAMES.get(_ROMAN.get(numeral, int(numeral) if numeral.isdigit() else 0), numeral)
            found.append(_Mention("part", value, match.start(), match.end()))
        elif kind == "annex_tok":
            found.append(_Mention("annex", str(int(match["annex"])), match.start(), match.end()))
        elif kind == "ich_tok":
            found.append(_Mention("ich", f"ICH Q{match['ich']}", match.start(), match.end()))
        elif kind == "chapter_tok":
            found.append(_Mention("chapter", str(int(match["chapter"])), match.start(), match.end()))
        else:
            marker = (match["marker"] or "").lower()
            if not marker and "." not in match["para"]:
                continue  # a bare integer is a count or a year, not a paragraph
            found.append(_Mention("para", match["para"], match.start(), match.end(), match["para_end"], marker))
    return found


def _group_mentions(mentions: list[_Mention], answer: str) -> list[list[_Mention]]:
    groups: list[list[_Mention]] = []
    for mention in mentions:
        gap = answer[groups[-1][-1].end : mention.start] if groups else None
        # a line break ends a reference: « - Partie III, §3.1 » then « - Annexe 7 » on the next line of a list
        # are two references, not §3.1 of Annex 7
        if gap is not None and len(gap) <= _MAX_CONNECTOR_CHARS and "\n" not in gap and _CONNECTOR.fullmatch(gap):
            groups[-1].append(mention)
        else:
            groups.append([mention])
    return groups


def _references_of(group: list[_Mention], answer: str) -> list[Reference]:
    """One reference per paragraph, or one for the part/chapter when the group names no paragraph."""
    start, end = group[0].start, group[-1].end
    text = answer[start:end]
    if all(m.kind == "para" and not m.marker.startswith("§") for m in group):
        return []  # numbers with nothing naming the guide: "version 2.1", "point 3" of the answer's own list
    scopes = [m for m in group if m.kind != "para"]
    refs: list[Reference] = []
    part: str | None = None
    chapter: str | None = None
    unused_scope = borrowed = False  # a part/chapter named and not yet used; a scope taken from after
    for mention in group:
        if mention.kind == "para":
            if part is None and chapter is None:  # "§2.10 de la Partie I": the scope comes after
                part, chapter = _scope_after(mention, scopes)
                borrowed = True
            paragraph = mention.value + (f"-{mention.end_value}" if mention.end_value else "")
            refs.append(Reference(text, part, chapter, paragraph, start, end))
            unused_scope = False
            continue
        if mention.kind == "part" and unused_scope and part is None and chapter is not None:
            part = mention.value  # "chapitre 10 de la Partie I": the part comes after its chapter
            continue
        # "Partie I, chapitre 2" and "Partie III, ICH Q9" are one reference each.
        refines = chapter is None and (mention.kind == "chapter" or (mention.kind == "ich" and part == "III"))
        if unused_scope and not refines:  # "Partie I et Partie II": the first is a reference of its own
            refs.append(Reference(text, part, chapter, None, start, end))
        part, chapter = _apply_scope(mention, part, chapter)
        unused_scope = not borrowed
    if unused_scope:
        refs.append(Reference(text, part, chapter, None, start, end))
    return refs


def _apply_scope(mention: _Mention, part: str | None, chapter: str | None) -> tuple[str | None, str | None]:
    if mention.kind == "part":
        return mention.value, None
    if mention.kind == "annex":
        return "Annexes", mention.value
    if mention.kind == "ich":
        return "III", mention.value
    return part, mention.value  # a chapter within the current part


def _scope_after(mention: _Mention, scopes: list[_Mention]) -> tuple[str | None, str | None]:
    """The part and chapter named after a paragraph, in either order ("§2.10 du chapitre 2 de la Partie I")."""
    part: str | None = None
    chapter: str | None = None
    for scope in (s for s in scopes if s.start > mention.start):
        scope_part, scope_chapter = _apply_scope(scope, None, None)
        part, chapter = part or scope_part, chapter or scope_chapter
    return part, chapter


def _known_paragraphs(known: set[tuple[str, str]]) -> dict[str, set[str]]:
    by_part: dict[str, set[str]] = {}
    for part, paragraph in known:
        numbers = by_part.setdefault(part_key(part), set())
        numbers.update(expand_paragraphs(paragraph))
        numbered = re.match(r"[IVX]+\.\d+|\d+(?:\.\d+)*", paragraph.strip())
        if numbered:  # "2.7 (Gestion des activités sous-traitées)" is cited as "§2.7"
            numbers.add(numbered.group())
    return by_part


def _with_reason(ref: Reference, paragraphs: dict[str, set[str]], chapters: dict[str, set[str]]) -> Reference:
    reason = _reason(ref, paragraphs, chapters)
    if reason is None:
        return ref
    return Reference(ref.text, ref.part, ref.chapter, ref.paragraph, ref.start, ref.end, reason)


def _reason(ref: Reference, paragraphs: dict[str, set[str]], chapters: dict[str, set[str]]) -> str | None:
    parts = [ref.part] if ref.part else sorted(set(paragraphs) | set(chapters))
    if ref.part and ref.part not in paragraphs and ref.part not in chapters:
        return f"le guide n'a pas de Partie {ref.part}"
    if ref.chapter and not any(ref.chapter in chapters.get(part, set()) for part in parts):
        if ref.part == "Annexes":
            return f"le guide n'a pas d'Annexe {ref.chapter}"
        return f"{_label(ref.part, None)} n'a pas de chapitre {ref.chapter}"
    if not ref.paragraph:
        return None
    wanted = expand_paragraphs(ref.paragraph)
    # the guide's numbering has gaps (Partie II: §19.70 is followed by §19.80), so a range stands when
    # both its ends exist: "§§19.70-19.82" is right, "§§19.70-19.85" is not
    ends = list(dict.fromkeys((wanted[0], wanted[-1])))
    missing = [p for p in ends if not any(p in paragraphs.get(part, set()) for part in parts)]
    if missing:
        return f"§{missing[0]} n'existe pas dans {_label(ref.part, ref.chapter)}"
    if ref.part in _CHAPTER_NUMBERED_PARTS and ref.chapter and wanted[0].split(".")[0] != ref.chapter:
        return f"§{wanted[0]} n'appartient pas au chapitre {ref.chapter} de la Partie {ref.part}"
    return None


def _label(part: str | None, chapter: str | None) -> str:
    if part == "Annexes":
        return f"l'Annexe {chapter}" if chapter else "les Annexes"
    where = f"la Partie {part}" if part else "le guide"
    if chapter:
        where += f", {chapter if chapter.startswith('ICH') else 'chapitre ' + chapter}"
    return where
