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

from retrievers.bpf_references import part_key

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


_ICH = re.compile(r"\bICH\s*Q\s*(?P<number>9|10)\b", re.IGNORECASE)  # Partie III's texts, named on their own


@dataclass(frozen=True)
class Scope:
    """A part of the guide ("I".."IV"), an annex ("Annexes", "11") or an ICH text of Partie III ("III", "ICH Q9")."""

    part: str
    chapter: str | None = None

    @property
    def label(self) -> str:
        """How the answer names it: "Partie II", "Annexe 11", "ICH Q9 (Partie III)"."""
        if self.part == "Annexes":
            return f"Annexe {self.chapter}"
        return f"{self.chapter} (Partie {self.part})" if self.chapter else f"Partie {self.part}"


def named_scopes(question: str) -> list[Scope]:
    """The parts, annexes and ICH texts a question names, in the order it names them, each once.

    An ICH text stands for Partie III when both are named (« ICH Q9 (Partie III) »): the narrower wins.

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
    found += [(match.start(), Scope("III", f"ICH Q{match['number']}")) for match in _ICH.finditer(question)]
    narrower = {scope.part for _start, scope in found if scope.chapter and scope.part != "Annexes"}
    ordered = [scope for _start, scope in sorted(found, key=lambda item: item[0])
               if scope.chapter or scope.part not in narrower]
    return list(dict.fromkeys(ordered))


def without_scopes(question: str) -> str:
    """The question without the parts it names: what each part's own search looks for.

    Inside a search filtered to one part, « partie I et partie II » is noise: the words match headings
    and cross-references anywhere, and pull the embedding away from the topic (on the comparison
    questions of folds 1-4, recall 0.865 with the names kept, 0.892 without; see
    benchmarks/regulatory_comparison.py). A question that is nothing but names is searched as it is.
    """
    topic = question
    for pattern in (_FRENCH_PARTS, _ENGLISH_PARTS, _BPF_PART, _ANNEXES, _ICH):
        topic = pattern.sub(" ", topic)
    topic = re.sub(r"\s+", " ", topic).strip()
    return topic if len(re.findall(r"\w{4,}", topic)) >= 2 else question


def compared_scopes(question: str) -> list[Scope]:
    """The parts a question sets side by side: its named scopes when there are two or more, else none."""
    scopes = named_scopes(question)
    return scopes if len(scopes) >= 2 else []


def index_scope(scope: Scope, chapters: dict[str, dict[str, str]]) -> tuple[str, str | None] | None:
    """The (part, chapter) filter that selects `scope` in the index, or None when the guide lacks it.

    The guide files its annexes under "Annexes" with the chapter "11" or, for the French numbering,
    "LD.1": "Annexe 1" is whichever of the two the index holds.
    """
    if scope.chapter is None:
        return (scope.part, None) if scope.part in chapters else None
    names = (scope.chapter, f"LD.{scope.chapter}") if scope.part == "Annexes" else (scope.chapter,)
    chapter = next((name for name in names if name in chapters.get(scope.part, {})), None)
    return (scope.part, chapter) if chapter else None


def grouped_extracts(chunks: list[Document], compared: list[dict]) -> str:
    """The extracts for the prompt, one `<extraits-partie>` group per compared part, numbered throughout.

    `compared` holds each part's label and index filter ({"label": "Annexe 1", "part": "Annexes",
    "chapter": "LD.1"}). A compared part without any extract says so in its group, so the model does not
    lend it another part's requirement; extracts of other parts (a paragraph the question names) come last.
    """
    from retrievers.citations import format_extracts

    groups: dict[str, list[Document]] = {scope["label"]: [] for scope in compared}
    others: list[Document] = []
    for chunk in chunks:
        home = next((scope["label"] for scope in compared if _inside(chunk.metadata, scope)), None)
        (groups[home] if home else others).append(chunk)
    blocks = [f'<extraits-partie nom="{label}">\n{format_extracts(group) if group else _NONE_FOUND}\n</extraits-partie>'
              for label, group in groups.items()]
    if others:
        blocks.append(f'<extraits-partie nom="Autres passages">\n{format_extracts(others)}\n</extraits-partie>')
    numbers = iter(range(1, len(chunks) + 1))
    return re.sub(r'<extrait n="\d+"', lambda _match: f'<extrait n="{next(numbers)}"', "\n".join(blocks))


def _inside(metadata: dict, scope: dict) -> bool:
    """The rule of the search filter (`retrievers.search._where`): same part, and same chapter if one is set."""
    return metadata.get("part") == scope["part"] and scope["chapter"] in (None, metadata.get("chapter"))


_NONE_FOUND = "(aucun passage de cette partie n'a été retrouvé pour cette question)"
