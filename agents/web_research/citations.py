"""The pages an answer cites, checked against the pages actually read.

The model cites pages by their number in the extracts ([2]) and sometimes by address. A number with
no page behind it, or an address the agent never read, is reported under the answer rather than
passed off as a source; the list of the pages read is written by code, never by the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from relais.sources import Source

_CITATION = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_URL = re.compile(r"https?://[^\s<>()\[\]\"'«»]+")


@dataclass(frozen=True)
class CitationCheck:
    """What the answer cites, against the pages read (numbered from 1 as in the extracts)."""

    cited: tuple[int, ...]  # page numbers cited that exist, in order of first citation
    unknown_numbers: tuple[int, ...]  # [n] with no page n
    unread_urls: tuple[str, ...]  # addresses in the answer that no page read has

    @property
    def sound(self) -> bool:
        """Whether every citation points to a page that was read."""
        return not self.unknown_numbers and not self.unread_urls


def check_citations(answer: str, sources: Sequence[Source]) -> CitationCheck:
    """Match the answer's [n] citations and addresses with the pages read."""
    numbers = [int(number) for group in _CITATION.findall(answer) for number in re.split(r"\s*[,;]\s*", group)]
    number_of = {_normalised(source["url"]): n for n, source in enumerate(sources, start=1) if source.get("url")}
    urls = [url.rstrip(".,;:!?") for url in _URL.findall(answer)]
    numbers += [number_of[_normalised(url)] for url in urls if _normalised(url) in number_of]  # cited by address
    cited = tuple(dict.fromkeys(number for number in numbers if 1 <= number <= len(sources)))
    unknown = tuple(dict.fromkeys(number for number in numbers if not 1 <= number <= len(sources)))
    unread = tuple(dict.fromkeys(url for url in urls if _normalised(url) not in number_of))
    return CitationCheck(cited=cited, unknown_numbers=unknown, unread_urls=unread)


def pages_note(check: CitationCheck, sources: Sequence[Source]) -> str:
    """The list of the pages read, which ones the answer cites, and any citation that points nowhere."""
    lines = ["---", "**Pages consultées** (liste établie par Relais) :", ""]
    for number, source in enumerate(sources, start=1):
        marks = ["citée" if number in check.cited else "non citée"]
        if not (source.get("metadata") or {}).get("read", True):
            marks.append("page illisible : seul l'extrait du moteur de recherche a été lu")
        lines.append(f"{number}. [{source['title']}]({source.get('url', '')}) — {' ; '.join(marks)}")
    if check.unknown_numbers:
        cited = ", ".join(f"[{number}]" for number in check.unknown_numbers)
        lines += ["", f"⚠️ Citation sans page correspondante : {cited} — l'affirmation qui la porte n'a pas de source."]
    if check.unread_urls:
        lines += ["", "⚠️ Adresse citée mais jamais consultée (à vérifier avant tout usage) : "
                  + ", ".join(check.unread_urls)]
    return "\n".join(lines)


def _normalised(url: str) -> str:
    """An address without its fragment, trailing slash or scheme difference (http and https are one page)."""
    host, _, path = re.sub(r"^https?://", "", url.split("#", 1)[0].rstrip("/")).partition("/")
    return f"{host.lower()}/{path}"
