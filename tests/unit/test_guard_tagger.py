"""Round 14 of the guard: the learned sequence tagger (relais/guard/tagger.py).

Its labels (every occurrence of a planted value, words cut by a line break), its disk cache (a second build loads
the file, a changed training set trains anew) and, on a text written for this test, a value the rules miss and the
tagger finds. The planted sets themselves are measured by benchmarks/guard_sets.py, not here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relais.guard import engine, tagger


def words_and_labels(text: str, planted: list[dict]) -> list[tuple[str, str]]:
    spans = tagger.tokens(text)
    return [(text[s:e], label) for (s, e), label in zip(spans, tagger.bio_labels(text, planted, spans), strict=True)]


def test_every_occurrence_of_a_value_is_labelled() -> None:
    text = "Relance Ines Caradec ; si Ines Caradec ne répond pas, appelle Ines Caradec demain."
    labelled = words_and_labels(text, [{"value": "Ines Caradec", "category": "PERSONNE"}])
    assert [label for word, label in labelled if word in ("Ines", "Caradec")] == ["B-PERSONNE", "I-PERSONNE"] * 3
    assert {label for word, label in labelled if word not in ("Ines", "Caradec")} == {"O"}


def test_a_value_of_several_words_and_signs_is_one_entity() -> None:
    text = "Mon salaire passe à 3 412,50 € brut par mois, dis-moi si c'est correct."
    labelled = words_and_labels(text, [{"value": "3 412,50 €", "category": "SALAIRE"}])
    inside = [(word, label) for word, label in labelled if label != "O"]
    assert inside == [("3", "B-SALAIRE"), ("412", "I-SALAIRE"), (",", "I-SALAIRE"), ("50", "I-SALAIRE"),
                      ("€", "I-SALAIRE")]


def test_a_value_cut_by_a_line_break_keeps_its_words_on_both_lines() -> None:
    text = "NIR de l'agent : 2 91 07\n69 123 456 78 à vérifier."
    labelled = words_and_labels(text, [{"value": "2 91 07\n69 123 456 78", "category": "NIR"}])
    assert [word for word, label in labelled if label != "O"] == ["2", "91", "07", "69", "123", "456", "78"]
    inside = [label for _, label in labelled if label != "O"]
    assert inside == ["B-NIR"] + ["I-NIR"] * 6  # one value, across the line break


def test_clean_rows_are_all_outside() -> None:
    assert {label for _, label in words_and_labels("Rédige la SOP de nettoyage de la ligne 4.", [])} == {"O"}


def write_set(folder: Path, name: str, rows: list[dict]) -> None:
    (folder / name).write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


SMALL_SET = [
    {"id": "a1", "text": "Le code de la porte est 4812B, ne le diffuse pas.",
     "planted": [{"value": "4812B", "category": "SECRET"}]},
    {"id": "a2", "text": "Le code du local est 7730C depuis lundi.",
     "planted": [{"value": "7730C", "category": "SECRET"}]},
    {"id": "c1", "text": "Le lot 4812 est libéré depuis lundi.", "planted": []},
]


def test_a_second_build_loads_the_cached_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_set(tmp_path, "one.jsonl", SMALL_SET)
    cache = tmp_path / "cache"
    first = tagger.build(("one.jsonl",), folder=tmp_path, cache=cache)
    assert first.path.exists() and first.path.parent == cache

    def no_training(*args, **kwargs):
        raise AssertionError("the cached model should have been loaded")

    monkeypatch.setattr(tagger, "train", no_training)
    second = tagger.build(("one.jsonl",), folder=tmp_path, cache=cache)
    assert second.path == first.path


def test_a_changed_training_set_trains_a_new_model(tmp_path: Path) -> None:
    write_set(tmp_path, "one.jsonl", SMALL_SET)
    cache = tmp_path / "cache"
    first = tagger.build(("one.jsonl",), folder=tmp_path, cache=cache)
    extra = {"id": "a3", "text": "Le code du vestiaire est 9061D.",
             "planted": [{"value": "9061D", "category": "SECRET"}]}
    write_set(tmp_path, "one.jsonl", [*SMALL_SET, extra])
    second = tagger.build(("one.jsonl",), folder=tmp_path, cache=cache)
    assert second.path != first.path and second.path.exists() and first.path.exists()


@pytest.fixture(scope="module")
def shipped_tagger():
    """The tagger trained on TRAINING_SETS (loaded from the disk cache after the first build)."""
    return tagger.get_tagger()


def covered_by(text: str, value: str, findings) -> bool:
    start = text.index(value)
    return all(any(f.start <= i < f.end for f in findings) for i in range(start, start + len(value))
               if text[i].isalnum())


# Written for this test (no row of the planted sets): values the rules leave in clear and the tagger finds.
FRESH = [
    # breastfeeding, which no rule knows (round 13 left it alone). Round 16's model (blind19 learned) no longer tags
    # « elle allaite encore, donc pas de poste… »: a single sentence is an example, the hold-outs are the measure.
    ("SANTE", "Rappel pour Noémie Fleury : elle allaite toujours son bébé, pas de poste en zone cytotoxique "
     "avant juin.", "allaite"),
    # a pay after « passe à » with no currency nor pay word (round 20's rules took « 52k brut », the first example)
    ("SALAIRE", "Ok pour Yannick Morvan, il passe à 52 000 l'an prochain avec la promo, garde ça pour toi.", "52 000"),
]

@pytest.mark.parametrize(("kind", "text", "value"), FRESH)
def test_the_tagger_finds_a_value_the_rules_miss(shipped_tagger, kind: str, text: str, value: str) -> None:
    engine.clear_caches()
    with tagger.turned_off():
        rules = engine.inspect([text]).findings
    engine.clear_caches()
    assert not covered_by(text, value, rules)
    tagged = [f for f in engine.inspect([text]).findings]
    assert covered_by(text, value, tagged), [(f.entity_type, text[f.start:f.end]) for f in tagged]
    assert any(kind == category for category, *_ in shipped_tagger.spans(text))


def test_a_marking_the_tagger_sees_keeps_a_flagged_request_local(shipped_tagger) -> None:
    """Round 15: a marking the rules miss, in a request they flag, turns « redact » into « local »."""
    from relais.guard.policy import decide

    text = "Marking: HR EYES ONLY\nDraft a reply to Megan Holt (megan.holt@gmail.com) about her leave request."
    engine.clear_caches()
    with tagger.turned_off():
        rules = engine.inspect([text])
    engine.clear_caches()
    both = engine.inspect([text])
    assert not rules.is_clean and not rules.is_marked_confidential
    assert decide("redact", rules).action == "redact"
    # its bounds are the model's (with or without the label « Marking: », by training round): the words are what count
    markings = [text[f.start:f.end] for f in both.findings if f.entity_type == "CONFIDENTIEL"]
    assert len(markings) == 1 and "HR EYES ONLY" in markings[0]
    assert decide("redact", both).action == "local"


def test_a_marking_alone_never_flags_a_request(shipped_tagger) -> None:
    """The tagger only speaks where the rules found something: a marking it alone sees leaves the request clean."""
    text = "HR EYES ONLY\nPeux-tu reformuler la procédure de revue annuelle des habilitations ?"
    assert any(kind == "CONFIDENTIEL" for kind, *_ in shipped_tagger.spans(text))
    engine.clear_caches()
    assert engine.inspect([text]).is_clean


def test_the_cache_key_does_not_depend_on_the_process(tmp_path: Path) -> None:
    """Two processes with different string hashing compute one key (a set's order once made every start retrain)."""
    import os
    import subprocess
    import sys

    write_set(tmp_path, "one.jsonl", SMALL_SET)
    code = f"from pathlib import Path; from relais.guard import tagger; " \
           f"print(tagger.training_digest(('one.jsonl',), Path({str(tmp_path)!r})))"
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(tagger.ROOT)}).stdout.strip()
            for seed in ("1", "2")}
    assert len(keys) == 1 and len(keys.pop()) == 24


def test_the_tagger_learns_markings_not_a_secrets_content() -> None:
    """A marking is learnt; a business secret told in a sentence is left to the rules (business.py)."""
    assert tagger.learnable({"category": "CONFIDENTIEL", "value": "STRICTLY CONFIDENTIAL – BOARD ONLY"})
    assert tagger.learnable({"category": "CONFIDENTIEL", "value": "Diffusion restreinte"})
    assert not tagger.learnable({"category": "CONFIDENTIEL", "value": "rachat de Solvane Bio pour 180 M€"})
    assert tagger.learnable({"category": "PERSONNE", "value": "Solvane Martin"})


def test_the_training_sets_exist_and_leave_the_newest_hold_out_out() -> None:
    """Every set the tagger learns from is in evaluation/datasets; blind30, measured before round 26, is not
    among them until a round tunes on it (then it measures nothing). blind29, round 26's tuning set, is."""
    assert all((tagger.DATASETS_DIR / name).is_file() for name in tagger.TRAINING_SETS)
    assert (tagger.DATASETS_DIR / "guard_planted_blind30.jsonl").is_file()
    assert "guard_planted_blind30.jsonl" not in tagger.TRAINING_SETS
    assert "guard_planted_blind29.jsonl" in tagger.TRAINING_SETS


def test_relais_guard_tagger_off_leaves_the_rules_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setting is read like every other (RELAIS_ prefix, a boolean): off gives no tagger, a typo is refused."""
    from pydantic import ValidationError

    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_GUARD_TAGGER", "off")
    get_settings.cache_clear()
    assert tagger.get_tagger() is None and tagger.findings("Relance Ines Caradec, 52k brut.") == []
    monkeypatch.setenv("RELAIS_GUARD_TAGGER", "peut-être")
    get_settings.cache_clear()
    with pytest.raises(ValidationError):
        get_settings()
