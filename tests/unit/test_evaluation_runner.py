import json
from pathlib import Path
from typing import Annotated, Any, NotRequired

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableLambda
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from cli import main as cli
from cli.commands import evaluate
from evaluation.dataset import DatasetError, EvalItem, GoldReference, load_dataset
from evaluation.judge import JudgeSetup
from evaluation.results import load_run
from evaluation.runner import dataset_digest, graph_input, run_context, run_dataset
from relais.context import Context

DATASETS = Path(__file__).resolve().parents[2] / "evaluation" / "datasets"


class FakeState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    structured: NotRequired[bool]
    route: NotRequired[dict]
    sources: NotRequired[list[dict]]
    usage: NotRequired[dict]


WRITER = "fake:drafting"  # the model that writes every answer of the fake graph


def tagged_model(model: str, role: str, text: str):
    """A chat model tagged as the catalog tags its models, so a ModelCallLog sees who answered."""
    fake = GenericFakeChatModel(messages=iter([AIMessage(content=text)]))
    return fake.with_config(metadata={"relais_model": model, "relais_role": role})


def answer_node(state: FakeState, runtime: Runtime[Context]) -> dict[str, Any]:
    question = state["messages"][-1].content
    if "PANNE" in question:
        raise RuntimeError("le modèle ne répond pas")
    requested = runtime.context.requested_agent
    # Like the supervisor: an agent asked for is taken as is ("explicit"); otherwise the router decides.
    label = requested or ("translation" if "Traduis" in question else "general")
    method = "explicit" if requested else "local"
    tagged_model("fake:router", "router", label).invoke("route")  # the router's call writes no answer
    tagged_model(WRITER, "drafting", "brouillon").invoke(question)
    if "conditionnement" in question:
        text = ("Partie I, chapitre 5, §5.51 : « Le nom et le numéro de lot de chaque produit à conditionner "
                "doivent être indiqués sur chaque ligne ou poste de conditionnement. »")
    else:
        text = f"Réponse de l'agent {label}" + (" (structurée)" if state.get("structured") else "")
    return {"messages": [AIMessage(content=text)],
            "route": {"label": label, "confidence": 0.9, "method": method},
            "sources": [{"title": "BPF Partie I §5.51", "text": "Le nom et le numéro de lot de chaque produit",
                         "metadata": {"part": "I", "chapter": "5", "paragraph": "5.51"}}],
            "usage": {"input_tokens": 120, "output_tokens": 40, "model": "fake:drafting", "provider": "fake",
                      "latency_ms": 12}}


def fake_graph():
    builder = StateGraph(FakeState, context_schema=Context)
    builder.add_node("answer", answer_node)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(name="fake-supervisor")


def fixed_judge(marks=(8, 6, 5)):
    keys = ("accuracy", "completeness", "format")
    return RunnableLambda(lambda prompt: {**dict(zip(keys, marks, strict=True)),
                                          **{f"{key}_justification": "ok" for key in keys}})


def model_judge(model: str):
    """A judge that really calls a (tagged) chat model, as the catalog's judge does, then parses its marks."""
    marks = {"accuracy": 7, "completeness": 7, "format": 7, **{f"{k}_justification": "ok"
                                                                 for k in ("accuracy", "completeness", "format")}}

    def grade(prompt):
        return json.loads(tagged_model(model, "judge", json.dumps(marks)).invoke(prompt).content)

    return RunnableLambda(grade)


ITEMS = [
    EvalItem("q1", "Que vérifier avant le conditionnement ?", agent="regulatory_analysis",
             expected_agent="regulatory_analysis", gold=(GoldReference("I", "5", "5.51", "Le nom et le numéro"),)),
    EvalItem("q2", "PANNE volontaire", agent="general", expected_agent="general"),
    EvalItem("q3", "Traduis « lot » en anglais", expected_agent="translation"),
]


def test_graph_input_and_context_follow_the_supervisor_contract():
    item = EvalItem("x", "Bonjour", agent="code", structured=True)
    assert graph_input(item) == {"messages": [{"role": "user", "content": "Bonjour"}], "structured": True}
    assert run_context(item).requested_agent == "code"
    assert run_context(item, "auto").requested_agent is None


def test_runner_stores_each_answer_and_records_an_erroring_line_without_stopping(tmp_path):
    ticks = []

    class Bar:
        def update(self, n):
            ticks.append(n)

        def close(self):
            ticks.append("closed")

    manifest = run_dataset(ITEMS, fake_graph(), tmp_path / "run", {"config": "essai"},
                           judge=JudgeSetup(fixed_judge(), ("mistral:mistral-large-latest",)),
                           progress=lambda total: Bar())
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == ["q1", "q2", "q3"]
    assert rows[1]["error"] == "RuntimeError: le modèle ne répond pas" and "answer" not in rows[1]
    first = rows[0]
    assert first["answer"].startswith("Partie I, chapitre 5") and first["sources"][0]["metadata"]["paragraph"] == "5.51"
    assert first["usage"]["output_tokens"] == 40 and first["latency_ms"] >= 0
    assert first["judge"]["final"] == pytest.approx(6.8)
    assert first["checks"]["coverage"]["share"] == 1.0 and first["checks"]["coverage"]["cited"] == ["Partie I, §5.51"]
    assert first["models"] == [{"model": "fake:router", "role": "router"}, {"model": WRITER, "role": "drafting"}]
    assert first["judge_model"] == "mistral:mistral-large-latest"
    # q1 named its agent: not a routing measure; q3 went through the router.
    assert first["checks"]["routing"]["correct"] is None
    assert rows[2]["checks"]["routing"] == {"expected": "translation", "label": "translation", "routed": True,
                                            "correct": True, "method": "local", "confidence": 0.9}
    assert ticks == [1, 1, 1, "closed"]
    assert manifest["status"] == "finished" and manifest["summary"]["errors"] == 1
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["summary"]["grid"]["final"] == 6.8


def test_a_failing_judge_is_recorded_and_the_answer_kept(tmp_path):
    broken = RunnableLambda(lambda prompt: (_ for _ in ()).throw(TimeoutError("judge down")))
    run_dataset(ITEMS[:1], fake_graph(), tmp_path, {"config": "x"}, judge=JudgeSetup(broken))
    row = load_run(tmp_path).rows[0]
    assert row["judge"] is None and row["judge_error"] == "TimeoutError: judge down" and row["answer"]


def test_resume_keeps_answered_questions_and_asks_the_rest(tmp_path):
    out = tmp_path / "run"
    run_dataset(ITEMS[:2], fake_graph(), out, {"config": "x"})  # q1 answered, q2 failed
    first = load_run(out).rows[0]
    with (out / "results.jsonl").open("a", encoding="utf-8") as results:
        results.write('{"id": "q3", "answ')  # a line cut by the interruption
    asked = []

    def spy(state, runtime: Runtime[Context]):
        asked.append(state["messages"][-1].content)
        return answer_node(state, runtime)

    builder = StateGraph(FakeState, context_schema=Context)
    builder.add_node("answer", spy)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    manifest = run_dataset(ITEMS, builder.compile(), out, {"config": "x"}, resume=True)
    assert asked == ["PANNE volontaire", "Traduis « lot » en anglais"]  # the failed one and the missing one
    rows = load_run(out).rows
    assert [row["id"] for row in rows] == ["q1", "q2", "q3"] and rows[0] == first
    assert manifest["resumed_with"] == 1 and manifest["summary"]["questions"] == 3


def test_an_agent_override_is_asked_directly_and_routing_is_not_measured(tmp_path):
    manifest = run_dataset(ITEMS, fake_graph(), tmp_path, {}, agent_override="code")
    row = load_run(tmp_path).rows[0]
    assert row["agent"] == "code" and row["route"]["label"] == "code" and row["checks"]["routing"]["correct"] is None
    routing = manifest["summary"]["routing"]
    assert routing["accuracy"] is None and routing["note"] == "n/a (agent requested)"
    assert routing["agent_requested"] == 2  # q2 failed: no route


def test_routing_accuracy_counts_only_requests_that_went_through_auto(tmp_path):
    mixed = run_dataset(ITEMS, fake_graph(), tmp_path / "mixed", {})["summary"]["routing"]
    assert (mixed["accuracy"], mixed["questions"], mixed["agent_requested"]) == (1.0, 1, 1)  # q3 only
    routed = run_dataset(ITEMS, fake_graph(), tmp_path / "auto", {}, agent_override="auto")["summary"]["routing"]
    # Through auto the fake router sends q1 (a regulatory question) to general: a routing error, now visible.
    assert (routed["accuracy"], routed["questions"], routed["agent_requested"]) == (0.5, 2, 0)


def test_the_judge_never_grades_answers_its_own_model_wrote(tmp_path):
    items = [ITEMS[0], ITEMS[2]]
    manifest = run_dataset(items, fake_graph(), tmp_path / "self", {}, judge=JudgeSetup(fixed_judge(), (WRITER,)))
    rows = load_run(tmp_path / "self").rows
    assert all(row["judge"] is None and row["self_judge_refused"] for row in rows)
    assert rows[0]["judge_error"].startswith(f"self-judging refused: {WRITER} wrote this answer")
    assert manifest["summary"]["self_judge_refused"] == 2 and manifest["summary"]["judged"] == 0
    allowed = run_dataset(items, fake_graph(), tmp_path / "allowed", {},
                          judge=JudgeSetup(fixed_judge(), (WRITER,), allow_self_judge=True))
    assert allowed["summary"]["judged"] == 2 and allowed["summary"]["judges"] == [WRITER]
    assert allowed["allow_self_judge"] is True and allowed["judge_chain"] == [WRITER]


def test_a_judge_fallback_that_wrote_the_answer_is_refused_and_the_real_grader_recorded(tmp_path):
    chain = ("mistral:mistral-large-latest", WRITER)
    fell_back = run_dataset(ITEMS[:1], fake_graph(), tmp_path / "fallback", {}, judge=JudgeSetup(model_judge(WRITER),
                                                                                               chain))
    row = load_run(tmp_path / "fallback").rows[0]
    assert row["judge"] is None and row["judge_model"] == WRITER and row["self_judge_refused"]
    assert fell_back["summary"]["self_judge_refused"] == 1
    other = run_dataset(ITEMS[:1], fake_graph(), tmp_path / "other", {},
                        judge=JudgeSetup(model_judge("fake:judge"), chain))
    row = load_run(tmp_path / "other").rows[0]
    assert row["judge"]["final"] == pytest.approx(7) and row["judge_model"] == "fake:judge"
    assert other["summary"]["judges"] == ["fake:judge"]


def test_dataset_loader_accepts_the_shipped_and_shared_formats(tmp_path):
    study = load_dataset(DATASETS / "etude_bpf_20.jsonl")
    assert len(study) == 20 and {item.agent for item in study} == {"regulatory_analysis"}
    requests = load_dataset(DATASETS / "agents_requests.jsonl")
    per_agent = {label: sum(item.agent == label for item in requests) for label in {i.agent for i in requests}}
    assert set(per_agent) == {"contract_clauses", "web_research", "procedures", "translation",
                              "computer_validation", "code", "general"}
    assert min(per_agent.values()) >= 10
    shared = tmp_path / "dev.jsonl"
    shared.write_text(json.dumps({"id": "d1", "text": "Traduis ceci", "label": "translation"}) + "\n"
                      + json.dumps({"id": "d2", "question": "Hors guide ?", "type": "unanswerable", "gold": []}) + "\n")
    routed, unanswerable = load_dataset(shared)
    assert (routed.agent, routed.expected_agent) == ("auto", "translation")
    assert unanswerable.unanswerable and unanswerable.expected_agent == "regulatory_analysis"


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "not valid JSON"), ('{"id": "a"}', "no 'question'"),
    ('{"id": "a", "question": "q", "agent": "pirate"}', "unknown agent 'pirate'"),
])
def test_dataset_errors_name_the_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "question": "q"}\n' + line + "\n")
    with pytest.raises(DatasetError, match=message) as error:
        load_dataset(path)
    assert f"{path}:2" in str(error.value)


def test_cli_run_then_report_export_and_compare(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(evaluate, "load_graph", fake_graph)
    monkeypatch.setattr("retrievers.store.collection_exists", lambda name: True)
    monkeypatch.setattr("evaluation.judge.judge_model", lambda chat_model=None: fixed_judge())
    dataset = tmp_path / "d.jsonl"
    dataset.write_text("".join(json.dumps({"id": i.id, "question": i.question, "agent": i.agent}) + "\n"
                               for i in ITEMS))
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--config", "A", "--out", str(tmp_path / "a"),
                     "--bpf-source", "/nonexistent", "--allow-self-judge"]) == 2
    assert "GMP guide text not found" in capsys.readouterr().err
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--config", "A", "--out", str(tmp_path / "a"),
                     "--allow-self-judge"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["summary"]["questions"] == 3 and printed["summary"]["errors"] == 1
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["config"] == "A" and manifest["models"]["judge"]["internal"][-1] == "embedded:default"
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--config", "B", "--out", str(tmp_path / "b"),
                     "--no-judge", "--limit", "1", "--agent", "auto"]) == 0
    assert load_run(tmp_path / "b").rows[0]["agent"] == "auto" and "judge" not in load_run(tmp_path / "b").rows[0]
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--out", str(tmp_path / "a")]) == 2
    assert "already holds a run: add --resume" in capsys.readouterr().err  # answers are never overwritten
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--out", str(tmp_path / "a"), "--resume",
                     "--allow-self-judge"]) == 0
    capsys.readouterr()
    assert len(load_run(tmp_path / "a").rows) == 3
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "z", "question": "Autre ?", "agent": "general"}) + "\n")
    assert cli.main(["eval", "run", "--dataset", str(other), "--out", str(tmp_path / "a"), "--resume"]) == 2
    assert "another dataset" in capsys.readouterr().err
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--out", str(tmp_path / "c"), "--only", "q3, q1",
                     "--no-judge"]) == 0
    assert [row["id"] for row in load_run(tmp_path / "c").rows] == ["q1", "q3"]
    capsys.readouterr()
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--out", str(tmp_path / "d"), "--only", "q9"]) == 2
    assert "no question with id q9" in capsys.readouterr().err
    assert cli.main(["eval", "report", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert cli.main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                     str(tmp_path / "ab.html")]) == 0
    assert cli.main(["eval", "export", str(tmp_path / "a"), "--xlsx", str(tmp_path / "grades.xlsx")]) == 0
    assert (tmp_path / "grades.xlsx").is_file()
    assert cli.main(["eval", "report", str(tmp_path / "missing")]) == 2
    assert "not a results folder" in capsys.readouterr().err


def test_cli_refuses_a_judge_that_would_grade_its_own_answers_before_asking_anything(tmp_path, monkeypatch,
                                                                                    capsys):
    monkeypatch.setenv("RELAIS_MODELS", "")  # restored after the test: --model sets it for the run
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.delenv("RELAIS_LOCAL_BASE_URL", raising=False)
    monkeypatch.setattr(evaluate, "load_graph", fake_graph)
    monkeypatch.setattr("evaluation.judge.judge_model", lambda chat_model=None: fixed_judge())
    dataset = tmp_path / "d.jsonl"
    dataset.write_text(json.dumps({"id": "a", "question": "Traduis « lot »", "agent": "translation"}) + "\n")
    # The embedded default answers and would judge: every grade would be its own.
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err
    assert "judge embedded:default is also the model that answers for translation" in error
    assert "--allow-self-judge" in error and not (tmp_path / "o").exists()
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--out", str(tmp_path / "s"),
                     "--allow-self-judge"]) == 0
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["allow_self_judge"] is True
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--out", str(tmp_path / "m"),
                     "--model", "judge=mistral:mistral-large-latest"]) == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["judge_chain"][0] == "mistral:mistral-large-latest" and manifest["summary"]["judged"] == 1
    assert load_run(tmp_path / "m").rows[0]["judge_model"] == "mistral:mistral-large-latest"


def test_the_study_questions_carry_the_gold_written_apart(tmp_path):
    study = load_dataset(DATASETS / "etude_bpf_20.jsonl")
    assert all(item.gold and 4 <= len(item.gold) <= 6 for item in study)
    first_quote = ("Le fabricant doit assurer la formation de tout le personnel appelé à pénétrer dans les zones "
                   "de production")
    assert study[0].gold[0] == GoldReference("I", "2", "2.10", first_quote)
    assert study[0].extra["gold_notes"] and study[0].expected_agent == "regulatory_analysis"
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": "Formation ?"}) + "\n")
    gold = tmp_path / "q_gold.jsonl"
    line = {"id": "a", "question": "Formation ?", "gold": [{"part": "I", "chapter": "2", "paragraph": "2.10",
                                                            "quote": "Le fabricant doit assurer"}]}
    gold.write_text(json.dumps(line) + "\n")
    before = dataset_digest(questions)
    assert load_dataset(questions)[0].gold == (GoldReference("I", "2", "2.10", "Le fabricant doit assurer"),)
    gold.write_text(json.dumps({**line, "gold": []}) + "\n")
    assert dataset_digest(questions) != before  # an edited gold is another dataset: no resume across it
    assert load_dataset(questions)[0].unanswerable


@pytest.mark.parametrize(("gold_line", "message"), [
    ({"id": "zz", "gold": []}, "id 'zz' is not a question of the dataset"),
    ({"id": "a", "question": "Autre chose ?", "gold": []}, "the question differs"),
    ({"id": "a"}, "no 'gold' list"),
])
def test_a_gold_file_that_does_not_match_the_questions_is_refused(tmp_path, gold_line, message):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": "Formation ?"}) + "\n")
    (tmp_path / "q_gold.jsonl").write_text(json.dumps(gold_line) + "\n")
    with pytest.raises(DatasetError, match=message):
        load_dataset(questions)


def test_cli_run_refuses_to_start_when_an_agent_s_knowledge_is_not_indexed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(evaluate, "load_graph", fake_graph)
    dataset = tmp_path / "d.jsonl"
    dataset.write_text(json.dumps({"id": "a", "question": "Que dit l'annexe 11 ?", "gold": []}) + "\n")
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--no-judge", "--out", str(tmp_path / "o")]) == 2
    assert "relais ingest --collection bpf" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing asked, nothing written
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--no-judge", "--out", str(tmp_path / "g"),
                     "--agent", "general"]) == 0  # the general assistant needs no collection
    monkeypatch.setattr("retrievers.store.collection_exists", lambda name: name == "bpf")
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--no-judge", "--out", str(tmp_path / "o")]) == 0
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--no-judge", "--out", str(tmp_path / "c"),
                     "--agent", "contract_clauses"]) == 2
    assert "relais ingest --collection clauses" in capsys.readouterr().err


def test_cli_run_without_the_supervisor_graph_says_so(tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_supervisor(name, *args, **kwargs):
        if name == "graphs.supervisor":
            raise ImportError("No module named 'graphs.supervisor'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_supervisor)
    dataset = tmp_path / "d.jsonl"
    dataset.write_text('{"id": "a", "question": "q"}\n')
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--no-judge", "--out", str(tmp_path / "o")]) == 2
    assert "supervisor graph cannot be imported" in capsys.readouterr().err


def test_cli_model_choices_reach_the_manifest_and_bad_ones_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RELAIS_MODELS", "")  # restored after the test: the command sets it for the run
    monkeypatch.setattr(evaluate, "load_graph", fake_graph)
    dataset = tmp_path / "d.jsonl"
    dataset.write_text('{"id": "a", "question": "Traduis ceci"}\n')
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--no-judge", "--out", str(tmp_path / "o"),
                     "--model", "judge=mistral:mistral-large-latest"]) == 0
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["models"]["judge"]["internal"][0] == "mistral:mistral-large-latest"
    assert manifest["models"]["judge"]["confidential"] == ["embedded:default"]  # never remote
    assert manifest["config"] == "judge-mistral-mistral-large-latest"
    assert cli.main(["eval", "run", "--dataset", str(dataset), "--model", "judge"]) == 2
    assert "ROLE=PROVIDER:MODEL" in capsys.readouterr().err
