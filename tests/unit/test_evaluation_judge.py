import json

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import Field, ValidationError

from evaluation.grid import JudgeScores
from evaluation.judge import NO_REFERENCE, judge_answer, judge_model, scores_record
from relais.models import catalog


class TinyScriptedModel(BaseChatModel):
    """Replies from a script; `with_structured_output` parses the JSON reply like a real model would."""

    responses: list = Field(default_factory=list)
    calls: list = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "tiny-scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append(messages)
        reply = self.responses.pop(0)
        content = reply if isinstance(reply, str) else json.dumps(reply)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=content))])

    def with_structured_output(self, schema, **kwargs):
        return self | RunnableLambda(lambda message: schema.model_validate_json(message.content))


def marks(accuracy=8.0, completeness=6.0, format=5.0):  # noqa: A002
    return {"accuracy": accuracy, "accuracy_justification": "Exact, références vérifiées.",
            "completeness": completeness, "completeness_justification": "Oublie le §5.61.",
            "format": format, "format_justification": "Structure claire."}


SOURCES = [{"title": "BPF Partie I, chapitre 5, §5.51", "text": "Le nom et le numéro de lot de chaque produit..."}]


def test_judge_marks_an_answer_and_sees_question_answer_extracts_and_reference():
    model = TinyScriptedModel(responses=[marks()])
    scores = judge_answer("Que vérifier avant le conditionnement ?", "Vérifier le vide de ligne (Partie I, §5.50).",
                          SOURCES, reference="Vide de ligne, identification de la ligne.", model=judge_model(model))
    assert (scores.accuracy, scores.completeness, scores.format) == (8.0, 6.0, 5.0)
    assert scores.final == pytest.approx(6.8)
    prompt = model.calls[0][0].content
    for seen in ("Que vérifier avant le conditionnement ?", "Vérifier le vide de ligne", "BPF Partie I, chapitre 5",
                 "Le nom et le numéro de lot", "Vide de ligne, identification de la ligne."):
        assert seen in prompt
    record = scores_record(scores)
    assert record["final"] == pytest.approx(6.8) and record["format_justification"] == "Structure claire."


def test_judge_without_reference_or_sources_says_so_in_the_prompt():
    model = TinyScriptedModel(responses=[marks(10, 10, 10)])
    scores = judge_answer("Question ?", "Réponse.", model=judge_model(model))
    assert scores.final == pytest.approx(10)
    assert NO_REFERENCE in model.calls[0][0].content


def test_a_judge_mark_off_the_scale_is_rejected():
    model = TinyScriptedModel(responses=[marks(accuracy=14)])
    with pytest.raises(ValidationError):
        judge_answer("Question ?", "Réponse.", model=judge_model(model))


def test_judge_model_comes_from_the_catalog_judge_role(monkeypatch):
    built = []
    fake = TinyScriptedModel(responses=[marks(9, 8, 7)])

    def factory(spec, role, settings):
        built.append((str(spec), role))
        return fake if spec.provider == "fake" else TinyScriptedModel()

    monkeypatch.setitem(catalog.PROVIDERS, "fake", factory)
    monkeypatch.setitem(catalog.PROVIDERS, "embedded", factory)  # never load the real GGUF in a unit test
    monkeypatch.setenv("RELAIS_MODELS", "judge=fake:judge-model")
    from relais.settings import get_settings

    get_settings.cache_clear()
    scores = judge_answer("Question ?", "Réponse.", model=judge_model())
    assert built[0] == ("fake:judge-model", "judge")
    assert scores.final == pytest.approx(0.5 * 9 + 0.3 * 8 + 0.2 * 7)
    assert isinstance(scores, JudgeScores)
