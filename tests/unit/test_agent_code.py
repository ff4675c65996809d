"""Code assistant: the code role, fenced code streamed as the answer, pasted code read but never run."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from agents import build_agent_graph, get_spec
from agents.code.checks import check_python_syntax, python_blocks, review_python
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
    assert "".join(streamed) == ANSWER == final["messages"][-1].content
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
