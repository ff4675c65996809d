"""The GMP guide as a source folder: the text file plus the per-part JSON files (titles, pages, keywords)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from retrievers.bpf import Block, parse_guide
from retrievers.chunking import content_hash, guide_chunks
from retrievers.extract import decode_text
from retrievers.json_repair import Problem, load_json_leniently

GUIDE_FILE = "guide-bpf-2019.txt"
PART_FILES = {"partie-I.json": "I", "partie-II.json": "II", "partie-III.json": "III", "partie-IV.json": "IV",
              "annexes.json": "Annexes"}
_ANNEX_NUMBER = re.compile(r"^(LD|ANNEXE)\s*\.?\s*(\d+)", re.IGNORECASE)
_MIN_SIMILARITY = 0.5
_STOPWORDS = {"des", "les", "pour", "une", "dans", "aux", "par", "sur", "avec", "tout", "partie", "leur"}


@dataclass
class GuideSource:
    """What the guide folder yields: its chunks, per-file hashes and the problems met on the way."""

    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    content_hash: str = ""


def is_guide_folder(folder: Path) -> bool:
    """Whether a folder holds the GMP guide's text export."""
    return (folder / GUIDE_FILE).is_file()


def load_guide(folder: Path, collection: str) -> GuideSource:
    """Parse the guide and its JSON files into chunks; the hash covers the text and every JSON file."""
    raw = (folder / GUIDE_FILE).read_bytes()
    text = decode_text(raw)
    blocks = parse_guide(text)
    entries, problems = _json_entries(folder)
    chapter_info = _match_chapters(blocks, entries, problems)
    digest = guide_hash(folder)
    base = {"collection": collection, "source": GUIDE_FILE, "doc_hash": digest}
    return GuideSource(guide_chunks(blocks, base, chapter_info), problems, digest)


def guide_hash(folder: Path) -> str:
    """One hash over the text and every part JSON file: a change in any of them re-indexes the guide."""
    names = [GUIDE_FILE, *sorted(name for name in PART_FILES if (folder / name).is_file())]
    return content_hash(b"".join(name.encode() + b"\0" + (folder / name).read_bytes() for name in names))


def _json_entries(folder: Path) -> tuple[list[dict], list[Problem]]:
    """Flatten every chapter-level entry of the JSON files as {part, title, page, keywords}."""
    entries: list[dict] = []
    problems: list[Problem] = []
    for name, part in PART_FILES.items():
        path = folder / name
        if not path.is_file():
            problems.append(Problem(name, None, None, "missing: chapter titles, pages and keywords unavailable",
                                    repaired=False))
            continue
        data, found = load_json_leniently(path)
        problems.extend(found)
        if data is not None:
            entries.extend({"part": part, **entry} for entry in _chapters_of(data))
    return entries, problems


def _chapters_of(data: object) -> list[dict]:
    """Entries of the 'Chapitres'/'Sections' lists; sub-sections fold their keywords into their parent."""
    found: list[dict] = []
    for root in (data.values() if isinstance(data, dict) else []):
        for entry in root.get("Chapitres") or root.get("Sections") or [] if isinstance(root, dict) else []:
            if not isinstance(entry, dict):
                continue
            keywords = _keywords(entry.get("mots_cles"))
            for sub in entry.get("Sous-sections") or []:
                keywords.extend(_keywords(sub.get("mots_cles")) if isinstance(sub, dict) else [])
            found.append({"title": str(entry.get("Titre", "")), "page": entry.get("Page"),
                          "keywords": list(dict.fromkeys(keywords))})
    return found


def _keywords(value: object) -> list[str]:
    if isinstance(value, list):
        return [keyword for item in value for keyword in _keywords(item)]
    return [str(value).replace("_", " ")] if value else []


def _match_chapters(blocks: list[Block], entries: list[dict], problems: list[Problem]) -> dict:
    """Attach each JSON entry to the text chapter it describes; report entries matching nothing or twice."""
    chapters = {(block.part, block.chapter): block.chapter_title for block in blocks if block.chapter}
    info: dict[tuple[str, str], dict] = {}
    for entry in entries:
        key = _find_chapter(entry, chapters)
        if key is None:
            problems.append(Problem(f"{entry['part']} JSON", None, None,
                                    f"entry {entry['title']!r} matches no chapter of the text", repaired=False))
            continue
        if key in info:
            problems.append(Problem(f"{entry['part']} JSON", None, None,
                                    f"entry {entry['title']!r} duplicates {key[1]}: keywords merged", repaired=True))
            merged = info[key]["keywords"].split("; ") + entry["keywords"]
            info[key]["keywords"] = "; ".join(dict.fromkeys(merged))
            continue
        page = entry["page"] if isinstance(entry["page"], int) else -1
        info[key] = {"title": entry["title"], "page": page, "keywords": "; ".join(entry["keywords"])}
    for part, chapter in chapters:
        if chapter and (part, chapter) not in info:
            problems.append(Problem(f"{part} JSON", None, None, f"no entry for chapter {chapter!r} "
                                    f"({chapters[(part, chapter)]}): no page or keywords", repaired=False))
    return info


def _find_chapter(entry: dict, chapters: dict[tuple[str, str], str]) -> tuple[str, str] | None:
    part = entry["part"]
    number = _ANNEX_NUMBER.match(entry["title"])
    if part == "Annexes" and number:
        for chapter in (f"LD.{number.group(2)}", number.group(2)):
            if (part, chapter) in chapters:
                return (part, chapter)
        return None
    scored = [(_similarity(entry["title"], title), key) for key, title in chapters.items() if key[0] == part]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= _MIN_SIMILARITY else None


def _words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain)
    return {word for word in words if (len(word) > 2 or word[-1].isdigit()) and word not in _STOPWORDS}


def _similarity(first: str, second: str) -> float:
    """Share of the JSON title's words found in the text's title (JSON titles abbreviate), then the converse."""
    a, b = _words(first), _words(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a) + 0.1 * len(a & b) / len(b)
