"""Code assistant: the code role, fenced code streamed as the answer, pasted code read but never run,
the answer's Python checked (syntax, ruff) and what failed appended under it."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from agents import build_agent_graph, get_spec
from agents.code import checks
from agents.code.checks import (
    RuffUnavailable,
    check_python_syntax,
    lint_python,
    proposed_python_blocks,
    python_blocks,
    review_python,
)
from relais.models.catalog import resolve_chain
from relais.publish import ANSWER_TAG
from relais.settings import get_settings

ANSWER = "```python\ndef moyenne(valeurs):\n    return sum(valeurs) / len(valeurs)\n```\n\nCalcule la moyenne."


@pytest.fixture
def graph():
    return build_agent_graph(get_spec("code"))


def test_answer_comes_from_the_code_role_and_is_streamed_as_the_answer(graph, scripted_models):
    scripted_models.queue("code", ANSWER)
    streamed, final = [], None
    for mode, data in graph.stream({"messages": [HumanMessage("Écris une fonction moyenne en Python")]},
                                   stream_mode=["messages", "values"]):
        if mode == "messages":
            chunk, metadata = data
            if isinstance(chunk, AIMessageChunk) and ANSWER_TAG in metadata.get("tags", []):
                streamed.append(chunk.content)
        else:
            final = data
    assert "".join(streamed) == final["messages"][-1].content  # the check's report is streamed too
    assert final["messages"][-1].content.startswith(ANSWER)
    assert final["messages"][-1].content.endswith("- Bloc 1 : ✅ syntaxe valide, ruff sans remarque.")
    system = scripted_models.calls("code")[0][0].content
    assert "blocs délimités" in system and "<analyse_statique>\n" not in system  # no pasted code, no review
    assert final["usage"]["output_tokens"] > 0


def test_pasted_code_that_would_create_files_is_never_run(graph, scripted_models, tmp_path):
    by_open, by_shell, by_answer = tmp_path / "cree_par_open.txt", tmp_path / "cree_par_shell", tmp_path / "reponse"
    pasted = (
        "Corrige ce script :\n```python\nimport os\n"
        f"open({str(by_open)!r}, 'w').write('x')\n"
        f"os.system('touch {by_shell}')\n"
        f"exec(\"open({str(by_open)!r}, 'a')\")\n```"
    )
    scripted_models.queue("code", f"```python\nopen({str(by_answer)!r}, 'w').write('x')\n```")
    result = graph.invoke({"messages": [HumanMessage(pasted)]})
    assert not by_open.exists() and not by_shell.exists() and not by_answer.exists()
    review = scripted_models.calls("code")[0][0].content
    assert "<analyse_statique>\n" in review and "Syntaxe Python valide" in review
    assert "os.system (lance une commande shell)" in review and "exec (exécute du texte comme du code)" in review
    assert result["messages"][-1].content.startswith("```python")


def test_a_syntax_error_is_reported_to_the_model_with_its_line(graph, scripted_models):
    scripted_models.queue("code", "La ligne 2 est incomplète : ...")
    graph.invoke({"messages": [HumanMessage("Pourquoi ça plante ?\n```py\nx = 1\nif x ==\n```")]})
    assert "Erreur de syntaxe ligne 2" in scripted_models.calls("code")[0][0].content


def test_code_in_other_languages_is_answered_without_a_python_review(graph, scripted_models):
    scripted_models.queue("code", "```sql\nSELECT 1;\n```")
    graph.invoke({"messages": [HumanMessage("Optimise :\n```sql\nSELECT * FROM lots\n```")]})
    assert "<analyse_statique>\n" not in scripted_models.calls("code")[0][0].content


@pytest.mark.parametrize(("text", "expected"), [("  \n", "la demande est vide"),
                                                ("x" * 30_001, "au-delà de la limite")])
def test_bad_requests_are_answered_clearly_without_the_model(graph, scripted_models, text, expected):
    result = graph.invoke({"messages": [HumanMessage(text)]})
    assert expected in result["messages"][-1].content
    assert scripted_models.calls("code") == []


def test_static_checks_never_run_code():
    assert python_blocks("a\n```python\nprint(1)\n```\n```js\nalert(1)\n```\n```\nx = 2\n```") == ["print(1)\n",
                                                                                                  "x = 2\n"]
    assert review_python("import shutil\nshutil.rmtree('/')\n").endswith(
        "Appels à examiner : ligne 2 : shutil.rmtree (supprime une arborescence).")
    assert review_python("def f(:\n") == "Erreur de syntaxe ligne 1 : invalid syntax."
    message = check_python_syntax.invoke({"name": "check_python_syntax", "args": {"code": "class A: pass"},
                                          "id": "c1", "type": "tool_call"})
    assert message.content == "Syntaxe Python valide (1 lignes). Définitions : A."


def test_with_mistral_the_code_role_uses_codestral(monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "test-key")
    get_settings.cache_clear()
    spec = get_spec("code")
    assert spec.role == "code"
    assert str(resolve_chain(spec.role, spec.sensitivity)[0]) == "mistral:codestral-latest"


# --- the code the model proposes is checked: syntax, then ruff ---------------------------------------

FLAWED = ("Voici deux versions :\n"
          "```python\nimport os\n\ndef total(lots):\n    return sum(lot.masse for lot in lot)\n```\n"
          "puis\n```python\ndef f(:\n    pass\n```\n"
          "Installation :\n```\npip install pandas\n```")


def _run(graph, text):
    events, streamed, state = [], [], None
    for mode, data in graph.stream({"messages": [HumanMessage(text)]}, stream_mode=["custom", "messages", "values"]):
        if mode == "custom":
            events.append(data)
        elif mode == "messages":
            chunk, metadata = data
            if isinstance(chunk, AIMessageChunk) and ANSWER_TAG in metadata.get("tags", []):
                streamed.append(chunk.content)
        else:
            state = data
    statuses = [event["description"] for event in events if event["type"] == "status"]
    return state, statuses, "".join(streamed)


def test_what_fails_in_the_proposed_code_is_appended_with_line_rule_and_message(graph, scripted_models):
    scripted_models.queue("code", FLAWED)
    state, statuses, streamed = _run(graph, "Écris une fonction qui totalise la masse des lots")
    answer = state["messages"][-1].content
    assert answer.startswith(FLAWED) and streamed == answer
    report = answer.split("**Vérification automatique du code proposé**", 1)[1]
    first, second = (line for line in report.splitlines() if line.startswith("- Bloc"))
    assert "ligne 1 F401 `os` imported but unused" in first
    assert "ligne 4 F821 Undefined name `lot`" in first
    assert second.startswith("- Bloc 2 : ❌ erreur de syntaxe ligne 1")
    assert "Bloc 3" not in report  # an untagged shell command is not called broken Python
    checks_run = [text for text in statuses if "bloc" in text]
    assert checks_run == [
        "Assistant code : bloc 1, vérification de la syntaxe (analysé, jamais exécuté)…",
        "Assistant code : bloc 1, ruff…",
        "Assistant code : bloc 2, vérification de la syntaxe (analysé, jamais exécuté)…",  # no ruff on broken syntax
        "Assistant code : réponse prête, 2 bloc(s) Python vérifié(s)",
    ]


def test_risky_calls_in_the_proposed_code_are_pointed_out(graph, scripted_models):
    scripted_models.queue("code", "```python\nimport shutil\n\nshutil.rmtree('/data/lots')\n```")
    answer = _run(graph, "Script pour vider le dossier des lots")[0]["messages"][-1].content
    assert "✅ syntaxe valide, ruff sans remarque. Appels à examiner : ligne 3 : shutil.rmtree" in answer


def test_without_ruff_the_answer_says_so_and_the_syntax_is_still_checked(graph, scripted_models, monkeypatch):
    monkeypatch.setattr(checks, "ruff_executable", lambda: None)
    scripted_models.queue("code", "```python\nimport os\n```\n```python\nx = (\n```")
    answer = _run(graph, "Un script ?")[0]["messages"][-1].content
    assert "- Bloc 1 : syntaxe valide ; non vérifié par ruff : ruff n'est pas installé sur le serveur." in answer
    assert "- Bloc 2 : ❌ erreur de syntaxe ligne 1" in answer


def test_a_ruff_that_hangs_is_reported_not_waited_for(graph, scripted_models, monkeypatch, tmp_path):
    hanging = tmp_path / "ruff"
    hanging.write_text("#!/bin/sh\nsleep 5\n")
    hanging.chmod(0o755)
    monkeypatch.setattr(checks, "ruff_executable", lambda: str(hanging))
    monkeypatch.setattr(checks, "RUFF_TIMEOUT_S", 0.3)
    with pytest.raises(RuffUnavailable, match="n'a pas répondu en 0.3 s"):
        lint_python("x = 1\n")
    scripted_models.queue("code", "```python\nx = 1\n```")
    assert "non vérifié par ruff : ruff n'a pas répondu" in _run(graph, "x ?")[0]["messages"][-1].content


def test_an_answer_without_python_gets_no_report(graph, scripted_models):
    scripted_models.queue("code", "```sql\nSELECT lot FROM lots;\n```")
    state, statuses, _ = _run(graph, "Requête SQL des lots")
    assert state["messages"][-1].content == "```sql\nSELECT lot FROM lots;\n```"
    assert statuses[-1] == "Assistant code : réponse prête (aucun bloc Python à vérifier)"


def test_ruff_reads_the_code_without_running_it(tmp_path):
    witness = tmp_path / "ran"
    findings = lint_python(f"import os\nopen({str(witness)!r}, 'w')\nprint(undefined)\n")
    assert [(f.line, f.rule) for f in findings] == [(1, "F401"), (3, "F821")]
    assert not witness.exists()
    blocks = "```\npip install pandas\n```\n```\nx = 1\n```\n```py\ny(\n```"
    assert proposed_python_blocks(blocks) == ["x = 1\n", "y(\n"]
