"""The Markdown skeleton: segments out, translations back in, structure kept by construction."""

from __future__ import annotations

import pytest

from agents.translation.split import (
    Segment,
    fit_translation,
    inline_code_spans,
    markdown_structure,
    parse_markdown,
    plan_chunks,
)

SOP = """# Procédure de libération des lots

## 1. Objet

Cette procédure décrit la libération des lots par le pharmacien responsable.
Elle s'applique à tous les sites de production.

## 2. Responsabilités

| Étape | Responsable | Délai |
|---|:---:|---|
| Revue du dossier de lot | Assurance qualité | 2 j |
| Certification | Pharmacien responsable | 1 j |
| Archivage \\| scan | Documentation | 30 |

1. Vérifier le dossier de lot.
2. Contrôler les écarts ouverts :
   - écarts critiques ;
   - écarts majeurs.
3. Signer le certificat `CERT-01`.

- [ ] Lot en quarantaine
- [x] Lot libéré

```python
release(lot="A123")  # ne pas traduire

print("écart")
```

> Note : tout écart doit être clos avant la libération.

---

Rédigé par : Jean Martin  
Approuvé par : la direction qualité
"""


def upper(document):
    return [segment.text.upper() for segment in document.segments]


def test_without_translation_the_text_comes_back():
    document = parse_markdown(SOP)
    rendered = document.render()
    assert rendered.replace("\n", " ").split() == SOP.replace("\n", " ").split()
    assert markdown_structure(rendered) == markdown_structure(SOP)


def test_only_words_are_segments_the_skeleton_and_code_stay_out():
    document = parse_markdown(SOP)
    texts = [segment.text for segment in document.segments]
    assert "Procédure de libération des lots" in texts
    assert "Revue du dossier de lot" in texts and "Assurance qualité" in texts
    assert "Archivage \\| scan" in texts  # an escaped pipe stays inside its cell
    assert "Lot en quarantaine" in texts
    assert all("release(" not in text and "print(" not in text for text in texts)
    assert all(not text.startswith(("#", "|", "- ", "1.")) for text in texts if text != "1. Objet")
    assert "30" not in texts and "2 j" not in texts  # no words: kept verbatim, not sent


def test_translated_document_keeps_tables_numbering_lists_and_code():
    document = parse_markdown(SOP)
    translated = document.render(upper(document))
    assert "| REVUE DU DOSSIER DE LOT | ASSURANCE QUALITÉ | 2 j |" in translated
    assert "|---|:---:|---|" in translated
    assert "2. CONTRÔLER LES ÉCARTS OUVERTS :" in translated and "   - ÉCARTS CRITIQUES ;" in translated
    assert "- [x] LOT LIBÉRÉ" in translated
    assert 'release(lot="A123")  # ne pas traduire\n\nprint("écart")' in translated
    assert "SIGNER LE CERTIFICAT `CERT-01`." in translated
    source, result = markdown_structure(SOP), markdown_structure(translated)
    assert result == source
    assert source.headings == (1, 2, 2)
    assert source.tables == ((4, 3),)
    assert source.list_items == ("1.", "2.", "-", "-", "3.", "- [ ]", "- [x]")
    assert len(source.code_blocks) == 1


def test_hard_line_breaks_keep_one_segment_per_line():
    document = parse_markdown(SOP)
    translated = document.render(upper(document))
    assert "RÉDIGÉ PAR : JEAN MARTIN  \nAPPROUVÉ PAR : LA DIRECTION QUALITÉ" in translated


@pytest.mark.parametrize(("model_output", "kind", "expected"), [
    ("Batch | release", "cell", "Batch \\| release"),
    ("## Purpose", "inline", "Purpose"),
    ("- Check the batch record.", "inline", "Check the batch record."),
    ("First line\nsecond line", "paragraph", "First line second line"),
    ("   ", "paragraph", "Objet"),
])
def test_a_translation_cannot_break_the_skeleton(model_output, kind, expected):
    assert fit_translation(model_output, Segment("Objet", kind)) == expected


def test_structure_differences_are_reported():
    broken = SOP.replace("| Certification | Pharmacien responsable | 1 j |\n", "")
    differences = markdown_structure(SOP).differences(markdown_structure(broken))
    assert len(differences) == 1 and differences[0].startswith("tableaux")


def test_chunks_stay_under_the_limit_and_cut_between_blocks():
    long_text = "\n\n".join(f"## Section {n}\n\n" + "Le lot est libéré après revue du dossier. " * 8
                            for n in range(12))
    document = parse_markdown(long_text)
    chunks = plan_chunks(document, 800)
    assert len(chunks) > 3
    assert sorted(index for chunk in chunks for index in chunk) == list(range(len(document.segments)))
    for chunk in chunks:
        assert sum(len(document.segments[index].text) for index in chunk) <= 800
    # a section's heading and its paragraph travel together
    heading_indexes = [i for i, segment in enumerate(document.segments) if segment.text.startswith("Section")]
    assert all(any(i in chunk and i + 1 in chunk for chunk in chunks) for i in heading_indexes)


def test_a_table_bigger_than_the_limit_is_cut_between_cells_and_keeps_its_shape():
    rows = "\n".join(f"| Écart {n} | Investigation en cours par l'assurance qualité | Majeur |" for n in range(40))
    table = "| Écart | Statut | Criticité |\n|---|---|---|\n" + rows
    document = parse_markdown(table)
    chunks = plan_chunks(document, 300)
    assert len(chunks) > 1
    translated = document.render(upper(document))
    assert markdown_structure(translated).tables == ((41, 3),)


def test_a_very_long_paragraph_is_cut_at_sentence_ends():
    paragraph = " ".join(f"Phrase numéro {n} sur la maîtrise des changements." for n in range(60))
    document = parse_markdown(paragraph)
    assert len(document.segments) > 3
    assert all(len(segment.text) <= 600 for segment in document.segments)
    assert document.render().split() == paragraph.split()


def test_inline_code_spans():
    assert inline_code_spans("Run `relais ingest` then `x=1`.") == ["`relais ingest`", "`x=1`"]


def test_the_word_export_keeps_each_block_kind():
    from agents.translation.export import translated_document
    from agents.translation.split import parse_markdown
    from relais.documents import BulletList, Heading, NumberedList, Paragraph, Table

    source = ("## Étapes\n\n- Peser\n- Mélanger\n\n3. Contrôler\n4. Libérer\n\n> Note importante\n\n"
              "```\ncode 1\n```\n\n| A | B \\| C |\n|---|---|\n| lot | dose |")
    document = parse_markdown(source)
    word = translated_document(document, [segment.text.upper() for segment in document.segments], "Titre")
    assert list(word.blocks) == [
        Heading("ÉTAPES", level=2), BulletList(["PESER", "MÉLANGER"]), NumberedList(["CONTRÔLER", "LIBÉRER"]),
        Paragraph("NOTE IMPORTANTE"), Paragraph("code 1"), Table(headers=["A", "B | C"], rows=[["LOT", "DOSE"]])]
