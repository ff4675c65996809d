"""The GMP guide's structure: parts, chapters, paragraphs, JSON repair, chunk metadata (no embeddings)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from retrievers.bpf import parse_guide
from retrievers.chunking import MAX_CHARS
from retrievers.extract import decode_text
from retrievers.guide import load_guide
from retrievers.json_repair import load_json_leniently


@pytest.fixture(scope="module")
def guide(bpf_dir: Path):
    return load_guide(bpf_dir, "bpf")


@pytest.fixture(scope="module")
def blocks(bpf_dir: Path):
    return parse_guide(decode_text((bpf_dir / "guide-bpf-2019.txt").read_bytes()))


def _chunk(guide, part: str, paragraph: str, chapter: str | None = None):
    for document in guide.documents:
        meta = document.metadata
        if meta["part"] == part and paragraph in meta["paragraphs"].split(";"):
            if chapter is None or meta["chapter"] == chapter:
                return document
    raise AssertionError(f"no chunk for {part} {chapter} {paragraph}")


def test_decoding_gives_french_text_without_crlf(bpf_dir: Path):
    text = decode_text((bpf_dir / "guide-bpf-2019.txt").read_bytes())
    assert "\r\n" not in text
    assert "PRÉAMBULE" in text and "l’article" in text  # cp1252 accents and curly apostrophes


def test_parts_and_chapters_follow_the_guide(blocks):
    chapters = {(block.part, block.chapter) for block in blocks}
    assert {("I", str(number)) for number in range(1, 10)} <= chapters
    assert ("I", "10") not in chapters  # Part I has nine chapters
    assert {("II", str(number)) for number in range(1, 21)} <= chapters
    assert {("IV", str(number)) for number in range(1, 18)} <= chapters
    assert {("III", "ICH Q9"), ("III", "ICH Q10")} <= chapters
    assert {("Annexes", "LD.1"), ("Annexes", "11"), ("Annexes", "15"), ("Annexes", "16")} <= chapters
    assert ("Annexes", "3") not in chapters  # "ANNEXE 3" inside LD.13 is an appendix of LD.13


def test_known_paragraph_metadata(guide):
    first = _chunk(guide, "I", "2.10")
    assert first.metadata["chapter"] == "2" and first.metadata["section"] == "FORMATION"
    assert "Le fabricant doit assurer la formation" in first.page_content
    assert first.metadata["page"] == 18 and "formation continue" in first.metadata["keywords"]
    second = _chunk(guide, "II", "7.40")
    assert second.metadata["chapter"] == "7" and second.metadata["section"].startswith("7.4")
    annex = _chunk(guide, "Annexes", "4.8", chapter="11")
    assert annex.metadata["chapter_title"].lower().startswith("annexe 11")
    assert "transférées dans un autre format" in annex.page_content


def test_chunks_never_span_two_chapters_and_stay_bounded(guide):
    for document in guide.documents:
        meta = document.metadata
        assert len(document.page_content) <= MAX_CHARS
        numbers = [number for number in meta["paragraphs"].split(";") if number]
        if meta["part"] in ("I", "II", "IV") and meta["chapter"].isdigit():
            assert all(number.split(".")[0] == meta["chapter"] for number in numbers), meta
        assert all(isinstance(value, (str, int, float)) for value in meta.values())


def test_grouped_paragraphs_are_labelled_as_a_range(guide):
    grouped = [d for d in guide.documents if "-" in d.metadata["paragraph"] and d.metadata["part"] == "II"]
    assert grouped
    first, last = grouped[0].metadata["paragraph"].split("-")
    numbers = grouped[0].metadata["paragraphs"].split(";")
    assert numbers[0] == first and numbers[-1] == last


def test_no_paragraph_range_runs_backwards(guide):
    # a chunk that reads into a new numbering (Annexe 16 §1.4.1 then its appendix §1) lists its paragraphs
    def number(paragraph: str) -> tuple[int, ...]:
        return tuple(int(piece) for piece in re.findall(r"\d+", paragraph))

    ranges = [d.metadata["paragraph"] for d in guide.documents if re.fullmatch(r"[\d.]+-[\d.]+",
                                                                               d.metadata["paragraph"])]
    assert ranges and all(number(first) <= number(last) for first, last in (r.split("-") for r in ranges))
    listed = [d.metadata for d in guide.documents if ", " in d.metadata["paragraph"]]
    assert listed and all(meta["paragraph"] == ", ".join(meta["paragraphs"].split(";")) for meta in listed)


def test_dev_quotes_land_in_a_chunk_with_the_gold_paragraph(guide, shared_dir: Path):
    collapse = lambda text: re.sub(r"\s+", " ", text)  # noqa: E731
    rows = [json.loads(line) for line in (shared_dir / "datasets" / "bpf_dev.jsonl").read_text().splitlines()]
    golds = [gold for row in rows for gold in row["gold"] if re.match(r"^[\d.]+$", gold["paragraph"])][:25]
    for gold in golds:
        holders = [d for d in guide.documents if collapse(gold["quote"]) in collapse(d.page_content)]
        assert holders, gold["quote"]
        assert any(d.metadata["part"] == gold["part"] and d.metadata["chapter"] == gold["chapter"]
                   and gold["paragraph"] in d.metadata["paragraphs"].split(";") for d in holders), gold


def test_malformed_json_files_are_repaired_and_reported(bpf_dir: Path):
    for name in ("partie-II.json", "partie-III.json", "partie-IV.json"):
        data, problems = load_json_leniently(bpf_dir / name)
        assert data is not None, name
        assert problems and all(problem.repaired and problem.line and problem.column for problem in problems)
    data, problems = load_json_leniently(bpf_dir / "partie-I.json")
    assert problems == [] and data["Partie I"]["Chapitres"]


def test_repair_keeps_every_entry_of_a_damaged_file(bpf_dir: Path):
    data, _ = load_json_leniently(bpf_dir / "partie-IV.json")
    sections = next(iter(data.values()))["Sections"]
    assert len(sections) == 18 and all("Titre" in section for section in sections)
    assert isinstance(sections[12]["mots_cles"], list)  # the list whose "[" was missing


def test_unrepairable_json_is_reported_with_line_and_column(tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1,\n  "b": @@@ }', encoding="utf-8")
    data, problems = load_json_leniently(broken)
    assert data is None
    assert [(problem.line, problem.column, problem.repaired) for problem in problems] == [(2, 8, False)]


def test_guide_problems_are_listed_for_the_summary(guide):
    rendered = [str(problem) for problem in guide.problems]
    assert any(text.startswith("partie-II.json:88:") for text in rendered)
    assert any("'7'" in text and "no entry" in text for text in rendered)  # annex 7 has no JSON entry
