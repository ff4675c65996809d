"""Exports: Markdown and Word from one structure, Excel round trip, safe paths, requested formats."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

import pytest
from docx import Document
from openpyxl import load_workbook

from agents.computer_validation.spreadsheets import Sheet, export_xlsx
from relais import signed_links
from relais.documents import (
    BulletList,
    Heading,
    NumberedList,
    Paragraph,
    RichDocument,
    Table,
    UnsupportedExportFormatError,
    check_export_formats,
    export_docx,
    export_path,
    requested_export_formats,
    safe_file_name,
    save_export,
    to_markdown,
)
from relais.settings import get_settings

SAMPLE = RichDocument(
    title="Nettoyage de la cuve C-12",
    subtitle="Procédure — projet",
    blocks=[
        Heading("1. Objet"),
        Paragraph("Prévenir la contamination croisée."),
        Heading("5. Déroulement"),
        Table(["N°", "Acteur", "Action"], [["5.1", "Opérateur", "Vidanger | rincer"], ["5.2", "AQ", "Vérifier"]]),
        BulletList(["point a", "point b"]),
        NumberedList(["premier", "second"]),
    ],
)


def test_markdown_has_title_sections_table_and_escaped_pipes():
    text = to_markdown(SAMPLE)
    assert text.startswith("# Nettoyage de la cuve C-12")
    assert "## 1. Objet" in text and "## 5. Déroulement" in text
    assert "| N° | Acteur | Action |" in text and "|---|---|---|" in text
    assert "Vidanger \\| rincer" in text
    assert "1. premier\n2. second" in text and "- point a" in text


def test_docx_export_opens_with_headings_tables_and_lists():
    exported = export_docx(SAMPLE, user_id="alice")
    word = Document(str(exported.path))
    headings = [p.text for p in word.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"]
    assert headings == ["Nettoyage de la cuve C-12", "1. Objet", "5. Déroulement"]
    table = word.tables[0]
    assert [cell.text for cell in table.rows[0].cells] == ["N°", "Acteur", "Action"]
    assert [cell.text for cell in table.rows[1].cells] == ["5.1", "Opérateur", "Vidanger | rincer"]
    assert [p.text for p in word.paragraphs if p.style.name == "List Number"] == ["premier", "second"]
    assert word.core_properties.title == "Nettoyage de la cuve C-12"


def test_export_lands_under_the_data_dir_with_a_link_signed_for_the_user(monkeypatch):
    monkeypatch.setenv("RELAIS_PUBLIC_URL", "https://relais.example.org/")
    monkeypatch.setenv("RELAIS_LINK_TTL_HOURS", "2")
    get_settings.cache_clear()
    monkeypatch.setattr(signed_links, "clock", lambda: 1_800_000_000.0)
    exported = export_docx(SAMPLE, file_title="Procédure nettoyage été", user_id="alice@example.org")
    root = get_settings().data_dir / "exports"
    assert exported.path.parent.parent == root and exported.path.is_file()
    assert exported.name == "Procedure-nettoyage-ete.docx"
    url = urlsplit(exported.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        f"https://relais.example.org/files/{exported.file_id}/{exported.name}")
    query = dict(parse_qsl(url.query, strict_parsing=True))
    assert query["u"] == "alice@example.org" and query["exp"] == str(1_800_000_000 + 2 * 3600)
    grant = signed_links.link_signer().verify(exported.file_id, exported.name, query)
    assert (grant.file_id, grant.name, grant.user_id) == (exported.file_id, exported.name, "alice@example.org")
    assert export_path(exported.file_id, exported.name) == exported.path.resolve()
    assert [p.name for p in exported.path.parent.iterdir()] == [exported.name]  # no temporary file left


def test_failed_write_leaves_no_file():
    def broken(path):
        path.write_bytes(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_export("rapport.docx", broken, user_id="alice")
    leftovers = [name for _, _, files in os.walk(get_settings().data_dir / "exports") for name in files]
    assert leftovers == []


@pytest.mark.parametrize(
    ("file_id", "name"),
    [
        ("../../etc", "passwd"),
        ("0" * 32, "../secret.docx"),
        ("0" * 32, "..docx"),
        ("0" * 32, ".hidden.docx"),
        ("0" * 31 + "/", "a.docx"),
        ("ABCDEF" + "0" * 26, "a.docx"),
        ("", ""),
        ("0" * 32, "absent.docx"),
    ],
)
def test_export_path_refuses_traversal_and_unknown_files(file_id, name):
    with pytest.raises(FileNotFoundError):
        export_path(file_id, name)


def test_export_path_refuses_a_symlink_out_of_the_exports(tmp_path):
    exported = export_docx(SAMPLE, user_id="alice")
    outside = tmp_path / "outside.docx"
    outside.write_text("secret")
    link = exported.path.parent / "lien.docx"
    link.symlink_to(outside)
    with pytest.raises(FileNotFoundError):
        export_path(exported.file_id, "lien.docx")


def test_safe_file_name_strips_accents_separators_and_length():
    assert safe_file_name("Qualification d'un LIMS / v2", "DOCX") == "Qualification-d-un-LIMS-v2.docx"
    assert safe_file_name("../../etc/passwd", "xlsx") == "etc-passwd.xlsx"
    assert safe_file_name("", "docx") == "document.docx"
    assert len(safe_file_name("x" * 500, "docx")) <= 85


def test_xlsx_round_trip_keeps_numbers_header_and_colours():
    sheet = Sheet("AMDEC: risques/v1", ["ID", "S", "RPN", "Classe"],
                  [["RISK-01", 8, 168, "Élevé"], ["RISK-02", 2, 12, "Faible"]], risk_column="Classe",
                  notes=["RPN calculé"])
    exported = export_xlsx([sheet], "Analyse de risques", user_id="alice")
    book = load_workbook(exported.path)
    worksheet = book.worksheets[0]
    assert worksheet.title == "AMDEC  risques v1"
    rows = list(worksheet.iter_rows(values_only=True))
    assert rows[0] == ("ID", "S", "RPN", "Classe")
    assert rows[1] == ("RISK-01", 8, 168, "Élevé") and isinstance(rows[1][2], int)
    assert worksheet["A1"].font.bold and worksheet.freeze_panes == "A2"
    assert worksheet["D2"].fill.fgColor.rgb.endswith("F4B6B6")
    assert worksheet.cell(row=5, column=1).value == "RPN calculé"


def test_xlsx_needs_a_sheet():
    with pytest.raises(ValueError):
        export_xlsx([], "vide", user_id="alice")


@pytest.mark.parametrize(
    ("text", "formats"),
    [
        ("Rédige la SOP en PDF", ["pdf"]),
        ("Exporte au format .odt s'il te plaît", ["odt"]),
        ("Donne-moi la matrice en Excel et en Word", ["xlsx", "docx"]),
        ("Rédige une procédure de nettoyage", []),
        ("Rédige la SOP.\nNotes : on scanne le certificat en PDF\nMerci", []),
        ("Rédige la SOP.\nnotes...\nJe la veux au format pdf", ["pdf"]),
        ("en documentation, en docker", []),
    ],
)
def test_requested_formats_are_read_from_the_instruction(text, formats):
    assert requested_export_formats(text) == formats


def test_unsupported_format_names_the_supported_ones():
    with pytest.raises(UnsupportedExportFormatError) as error:
        check_export_formats("Fais-moi la SOP en PDF", ("docx", "md"))
    assert "pdf" in str(error.value) and ".docx" in str(error.value)
    assert check_export_formats("SOP en Word", ("docx", "md")) == ["docx"]


def test_an_export_that_cannot_be_signed_writes_no_file():
    with pytest.raises(ValueError, match="user id"):
        export_docx(SAMPLE, user_id="")
    assert not (get_settings().data_dir / "exports").exists()
