"""Questions that set parts of the GMP guide side by side: the parts and annexes they name, found in code.

« Quelle différence entre la partie I et la partie II sur … », « compare l'annexe 1 et l'annexe 15 »,
"compare Part I and Annex 11": one search over the whole guide hands the model five passages that often
all come from the part closest to the wording, so one side of the comparison has nothing to answer from.
The graph searches each named part on its own instead (`retrievers.search.search(within=...)`), and the
model gets the extracts grouped by part. The parts are read from the question with regular expressions,
not by the model: the step must happen every time, and the small model cannot be trusted to do it.

A question that names two parts or more is treated as a comparison whatever its wording (« que disent la
partie I et l'annexe 15 sur … » asks what each says): each named part needs its own extracts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_core.documents import Document

from retrievers.bpf_references import chapter_key, part_key

_ROMAN = r"(?:IV|III|II|I|[1-4])(?!\.?\d)"  # not the 4 of « partie I, 4.11 »
# between two numbers of one list: « parties I et II », « annexes 1, 11 et 15 », "Parts I and II"
_JOIN = r"\s*(?:,|/|&|\bet\b|\bou\b|\band\b|\bor\b|\bvs\.?|\bversus\b)\s*"
# French part names are read in any case (« partie ii »); the English word "part" only before a capital
# numeral ("Part II"), and a lower-case "part I" not before a verb (_PRONOUN): "which part I should read".
_FRENCH_PARTS = re.compile(
    rf"\b(?:bpf\s+)?parties?\s+(?P<numbers>{_ROMAN}\b(?:{_JOIN}(?:(?:la\s+)?partie\s+)?{_ROMAN}\b)*)", re.IGNORECASE
)
_ENGLISH_PARTS = re.compile(rf"\b(?i:parts?)\s+(?P<numbers>{_ROMAN}\b(?:{_JOIN}(?:(?i:part)\s+)?{_ROMAN}\b)*)")
_PRONOUN = re.compile(r"part I\s+(?!(?:and|or|vs|versus|on|of|in|about|for|to|with)\b)[a-z]")
_BPF_PART = re.compile(r"\bBPF\s+(?P<numbers>IV|III|II|I)\b")  # « BPF I », « BPF II-7.40 »
_ANNEXES = re.compile(
    r"\b(?:annexes?|annex(?:es)?|ld)\s*\.?\s*(?:n°\s*)?(?P<numbers>\d{1,2}(?!\.\d)"
    rf"(?:{_JOIN}(?:(?:l['’]\s*)?(?:annexe?|ld)\s*\.?\s*)?\d{{1,2}}(?!\.\d))*)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\b(?:IV|III|II|I|\d{1,2})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Scope:
    """A part of the guide ("I".."IV") or an annex ("Annexes" with its number, "11")."""

    part: str
    annex: str | None = None

    @property
    def label(self) -> str:
        """How the answer names it: "Partie II", "Annexe 11"."""
        return f"Annexe {self.annex}" if self.annex else f"Partie {self.part}"


def named_scopes(question: str) -> list[Scope]:
    """The parts and annexes a question names, in the order it names them, each once.

    >>> [scope.label for scope in named_scopes("Quelle différence entre les parties I et II sur l'eau ?")]
    ['Partie I', 'Partie II']
    >>> [scope.label for scope in named_scopes("compare Annex 1 and Part IV on sterility")]
    ['Annexe 1', 'Partie IV']
    """
    found: list[tuple[int, Scope]] = []
    for pattern in (_FRENCH_PARTS, _ENGLISH_PARTS, _BPF_PART):
        for match in pattern.finditer(question):
            if _PRONOUN.match(question, match.start()):
                continue
            found += [(match.start(), Scope(part_key(number))) for number in _NUMBER.findall(match["numbers"])]
    for match in _ANNEXES.finditer(question):
        numbers = re.findall(r"\d+", match["numbers"])
        found += [(match.start(), Scope("Annexes", str(int(number)))) for number in numbers]
    ordered = [scope for _start, scope in sorted(found, key=lambda item: item[0])]
    return list(dict.fromkeys(ordered))


def compared_scopes(question: str) -> list[Scope]:
    """The parts a question sets side by side: its named scopes when there are two or more, else none."""
    scopes = named_scopes(question)
    return scopes if len(scopes) >= 2 else []


def index_scope(scope: Scope, chapters: dict[str, dict[str, str]]) -> tuple[str, str | None] | None:
    """The (part, chapter) filter that selects `scope` in the index, or None when the guide lacks it.

    The guide files its annexes under "Annexes" with the chapter "11" or, for the French numbering,
    "LD.1": "Annexe 1" is whichever of the two the index holds.
    """
    if scope.annex is None:
        return (scope.part, None) if scope.part in chapters else None
    annexes = chapters.get("Annexes", {})
    chapter = next((name for name in (scope.annex, f"LD.{scope.annex}") if name in annexes), None)
    return ("Annexes", chapter) if chapter else None


def scope_of(metadata: dict) -> str:
    """The label of the part or annex an extract belongs to ("Partie I", "Annexe 1" for "LD.1")."""
    part = part_key(str(metadata.get("part") or ""))
    if part != "Annexes":
        return Scope(part).label
    annex = chapter_key(str(metadata.get("chapter") or ""))
    return Scope("Annexes", annex).label


def grouped_extracts(chunks: list[Document], labels: list[str]) -> str:
    """The extracts for the prompt, one `<extraits-partie>` group per compared part, numbered throughout.

    A compared part without any extract says so in its group, so the model does not lend it another
    part's requirement; extracts of other parts (a paragraph the question names) come last.
    """
    from retrievers.citations import format_extracts

    groups: dict[str, list[Document]] = {label: [] for label in labels}
    others: list[Document] = []
    for chunk in chunks:
        groups.get(scope_of(chunk.metadata), others).append(chunk)
    blocks = [f'<extraits-partie nom="{label}">\n{format_extracts(group) if group else _NONE_FOUND}\n</extraits-partie>'
              for label, group in groups.items()]
    if others:
        blocks.append(f'<extraits-partie nom="Autres passages">\n{format_extracts(others)}\n</extraits-partie>')
    numbers = iter(range(1, len(chunks) + 1))
    return re.sub(r'<extrait n="\d+"', lambda _match: f'<extrait n="{next(numbers)}"', "\n".join(blocks))


_NONE_FOUND = "(aucun passage de cette partie n'a été retrouvé pour cette question)"
