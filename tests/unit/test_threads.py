"""Threads: each Open WebUI chat is a LangGraph thread, scoped to its user, branching on edits.

Chats go through the HTTP API with a forwarded Open WebUI user and the scripted fake model; the
thread is then read back from the app's own saver.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.types import StateSnapshot

from relais.threads import (
    list_threads,
    open_checkpointer,
    prune_threads,
    thread_id_for,
)
from server.app import create_app
from server.threads import CHAT_ID_HEADER, MESSAGE_ID_HEADER, PARENT_ID_HEADER, chat_thread, choose_start


@pytest.fixture
def app(monkeypatch, scripted_models):
    monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
    from relais.settings import get_settings

    get_settings.cache_clear()
    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def _post(client, messages, *, user="alice", chat="chat-1", **headers):
    sent = {"X-OpenWebUI-User-Id": user, **headers}
    if chat is not None:
        sent[CHAT_ID_HEADER] = chat
    body = {"model": "relais-general", "messages": messages}
    response = client.post("/v1/chat/completions", json=body, headers=sent)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def _user(text):
    return {"role": "user", "content": text}


def _assistant(text):
    return {"role": "assistant", "content": text}


def _thread(app, user="alice", chat="chat-1"):
    return app.state.threaded_graph.get_state({"configurable": {"thread_id": thread_id_for(user, chat)}})


def _history(app, user="alice", chat="chat-1"):
    return list(app.state.threaded_graph.get_state_history({"configurable": {"thread_id": thread_id_for(user, chat)}}))


def _texts(state):
    return [message.text for message in state.values.get("messages", [])]


def test_a_chat_is_continued_on_its_thread(app, client, scripted_models):
    scripted_models.queue("fast", "Réponse un.", "Réponse deux.")
    first = _post(client, [_user("Question un")])
    _post(client, [_user("Question un"), _assistant(first), _user("Question deux")])
    state = _thread(app)
    assert _texts(state) == ["Question un", "Réponse un.", "Question deux", "Réponse deux."]
    # The second turn's checkpoints descend from the first turn's end: one branch, no copy of turn one.
    history = _history(app)
    turn_ends = [snapshot for snapshot in history if not snapshot.next]
    assert [len(_texts(snapshot)) for snapshot in turn_ends] == [4, 2]
    # The model saw the whole conversation, read from the thread.
    assert [message.text for message in scripted_models.calls("fast")[-1][-3:]] == [
        "Question un", "Réponse un.", "Question deux"]


def test_an_edited_message_branches_from_the_turn_before_it(app, client, scripted_models):
    scripted_models.queue("fast", "Réponse un.", "Réponse deux.", "Réponse deux bis.")
    first = _post(client, [_user("Question un")])
    _post(client, [_user("Question un"), _assistant(first), _user("Question deux")])
    _post(client, [_user("Question un"), _assistant(first), _user("Question deux, corrigée")])
    assert _texts(_thread(app)) == ["Question un", "Réponse un.", "Question deux, corrigée", "Réponse deux bis."]
    history = _history(app)
    ends = {tuple(_texts(snapshot)) for snapshot in history if not snapshot.next}
    assert ("Question un", "Réponse un.", "Question deux", "Réponse deux.") in ends  # the old branch is kept
    edited = next(snapshot for snapshot in history if _texts(snapshot)[-1:] == ["Réponse deux bis."])
    first_end = next(snapshot for snapshot in history if _texts(snapshot) == ["Question un", "Réponse un."]
                     and not snapshot.next)
    assert _ancestors(history, edited) >= {first_end.config["configurable"]["checkpoint_id"]}


def _ancestors(history, snapshot):
    by_id = {item.config["configurable"]["checkpoint_id"]: item for item in history}
    found, parent = set(), snapshot.parent_config
    while parent is not None:
        found.add(parent["configurable"]["checkpoint_id"])
        parent = by_id[parent["configurable"]["checkpoint_id"]].parent_config
    return found


def test_a_regenerated_answer_branches_and_the_parent_id_header_decides(app, client, scripted_models):
    scripted_models.queue("fast", "Réponse un.", "Réponse deux.", "Autre réponse deux.")
    first = _post(client, [_user("Question un")], **{MESSAGE_ID_HEADER: "a1"})
    _post(client, [_user("Question un"), _assistant(first), _user("Question deux")],
          **{MESSAGE_ID_HEADER: "a2", PARENT_ID_HEADER: "a1"})
    # Open WebUI kept a different text for the first answer (the user edited it): the id still decides.
    _post(client, [_user("Question un"), _assistant("texte modifié"), _user("Question deux")],
          **{MESSAGE_ID_HEADER: "a2b", PARENT_ID_HEADER: "a1"})
    assert _texts(_thread(app)) == ["Question un", "Réponse un.", "Question deux", "Autre réponse deux."]
    assert _thread(app).metadata["relais_message_id"] == "a2b"


def test_users_cannot_reach_each_others_threads(app, client, scripted_models):
    scripted_models.queue("fast", "Pour Alice.", "Pour Bob.")
    _post(client, [_user("Secret d'Alice")], user="alice", chat="shared-id")
    _post(client, [_user("Question de Bob")], user="bob", chat="shared-id")
    assert _texts(_thread(app, "bob", "shared-id")) == ["Question de Bob", "Pour Bob."]
    assert "Secret d'Alice" not in [message.text for message in scripted_models.calls("fast")[-1]]
    assert thread_id_for("alice", "shared-id") != thread_id_for("bob", "shared-id")
    assert {summary.user_id for summary in list_threads(app.state.threads)} == {"alice", "bob"}


def test_temporary_chats_and_requests_without_a_chat_id_stay_stateless(app, client, scripted_models):
    scripted_models.queue("fast", "Un.", "Deux.")
    _post(client, [_user("Sans chat")], chat=None)
    _post(client, [_user("Temporaire")], chat="local:abc")
    assert list_threads(app.state.threads) == []


def test_permissions_never_reach_a_checkpoint(app, client, scripted_models):
    scripted_models.queue("fast", "Réponse.")
    _post(client, [_user("Bonjour")])
    stored = list(app.state.threads.list(None))
    assert stored
    for item in stored:
        text = repr(item.checkpoint["channel_values"]) + repr(item.metadata) + repr(item.pending_writes)
        assert "allowed_agents" not in text and "requested_agent" not in text


def test_background_tasks_do_not_write_to_the_thread(app, client, scripted_models):
    scripted_models.queue("fast", "Titre")
    _post(client, [_user("### Task:\nGenerate a concise title")], **{"X-Relais-Task": "title_generation"})
    assert list_threads(app.state.threads) == []


def _snapshot(messages, checkpoint_id, *, message_id=None, finished=True):
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}
    return StateSnapshot(values={"messages": messages}, next=() if finished else ("agent",), config=config,
                         metadata={"relais_message_id": message_id} if message_id else {}, created_at=None,
                         parent_config=None, tasks=(), interrupts=())


def test_branch_rule_picks_the_longest_turn_end_the_incoming_conversation_continues():
    short = _snapshot([HumanMessage("A"), AIMessage("a")], "1")
    long = _snapshot([HumanMessage("A"), AIMessage("a"), HumanMessage("B"), AIMessage("b")], "2")
    other = _snapshot([HumanMessage("A"), AIMessage("a"), HumanMessage("C"), AIMessage("c")], "3")
    running = _snapshot([HumanMessage("A"), AIMessage("a"), HumanMessage("B")], "4", finished=False)
    history = [running, other, long, short]  # newest first
    incoming = [SystemMessage("prompt"), HumanMessage("A"), AIMessage("progrès…\n\na"), HumanMessage("B"),
                AIMessage("b"), HumanMessage("D")]
    assert choose_start(history, incoming) == (long, "history")
    assert choose_start(history, [HumanMessage("A"), AIMessage("a"), HumanMessage("E")]) == (short, "history")
    assert choose_start(history, [HumanMessage("Z")]) == (None, "restart")
    assert choose_start([], [HumanMessage("A")]) == (None, "new")


def test_branch_rule_trusts_the_parent_message_id_over_the_texts():
    first = _snapshot([HumanMessage("A"), AIMessage("a")], "1", message_id="m1")
    second = _snapshot([HumanMessage("A"), AIMessage("a"), HumanMessage("B"), AIMessage("b")], "2", message_id="m2")
    incoming = [HumanMessage("A"), AIMessage("edited by the user"), HumanMessage("B")]
    assert choose_start([second, first], incoming, parent_id="m1") == (first, "parent_id")
    assert choose_start([second, first], incoming, parent_id="unknown") == (None, "restart")


def test_chat_thread_reads_the_headers():
    assert chat_thread({}, "alice") is None
    assert chat_thread({CHAT_ID_HEADER: "local:123"}, "alice") is None
    thread = chat_thread({CHAT_ID_HEADER: "c1", MESSAGE_ID_HEADER: "m2", PARENT_ID_HEADER: "m1"}, "alice")
    assert (thread.chat_id, thread.message_id, thread.parent_id) == ("c1", "m2", "m1")
    assert thread.thread_id == thread_id_for("alice", "c1")
    assert chat_thread({"X-Relais-Chat-Id": "c2"}, "bob").thread_id == thread_id_for("bob", "c2")


def test_prune_deletes_only_threads_older_than_the_retention(app, client, scripted_models):
    scripted_models.queue("fast", "Un.", "Deux.")
    _post(client, [_user("Ancien")], chat="old")
    _post(client, [_user("Récent")], chat="new")
    saver = app.state.threads
    assert len(list_threads(saver)) == 2
    later = datetime.now(UTC) + timedelta(days=10)
    assert prune_threads(saver, 30, now=later) == []
    deleted = prune_threads(saver, 5, now=later)
    assert {summary.chat_id for summary in deleted} == {"old", "new"}
    assert list_threads(saver) == []
    with pytest.raises(ValueError, match="zero or more"):
        prune_threads(saver, -1)


def test_threads_command_lists_shows_and_prunes(app, client, scripted_models, capsys, monkeypatch):
    from cli.main import main

    scripted_models.queue("fast", "Réponse un.")
    _post(client, [_user("Question un")], chat="c-cli")
    thread_id = thread_id_for("alice", "c-cli")
    assert main(["threads", "list"]) == 0
    listed = capsys.readouterr().out
    assert thread_id in listed and "user=alice" in listed and "chat=c-cli" in listed
    assert main(["threads", "show", thread_id]) == 0
    shown = capsys.readouterr().out
    assert "[user] Question un" in shown and "[assistant] Réponse un." in shown
    assert main(["threads", "show", "nope"]) == 2
    assert main(["threads", "prune", "--dry-run", "--days", "0"]) == 0
    assert "would delete 1 thread(s)" in capsys.readouterr().out
    assert len(list_threads(open_checkpointer())) == 1
    monkeypatch.setenv("RELAIS_THREAD_RETENTION_DAYS", "0")
    from relais.settings import get_settings

    get_settings.cache_clear()
    assert main(["threads", "prune"]) == 0
    assert "deleted 1 thread(s)" in capsys.readouterr().out
    assert list_threads(open_checkpointer()) == []


def _served(client, text, *, user="alice", path="/agents/supervisor/invoke", thread="served-chat"):
    body = {"input": {"messages": [{"type": "human", "content": text}]}}
    if thread is not None:
        body["config"] = {"configurable": {"thread_id": thread}}
    return client.post(path, json=body, headers={"X-OpenWebUI-User-Id": user})


def test_langserve_runs_open_the_callers_own_thread(app, client, scripted_models):
    scripted_models.queue("fast", "Premier.", "Second.", "Pour Bob.")
    assert _served(client, "/general un").status_code == 200
    response = _served(client, "/general deux")
    assert response.status_code == 200, response.text
    assert [m["content"] for m in response.json()["output"]["messages"]] == ["un", "Premier.", "deux", "Second."]
    # The same thread id sent by Bob names Bob's chat: he starts afresh and never sees Alice's turns.
    bob = _served(client, "/general trois", user="bob")
    assert [m["content"] for m in bob.json()["output"]["messages"]] == ["trois", "Pour Bob."]
    assert _texts(_thread(app, "alice", "served-chat")) == ["un", "Premier.", "deux", "Second."]
    # Without a thread id a run stays stateless; an agent's own route refuses a thread.
    assert _served(client, "/general seul", thread=None).status_code == 200
    assert {summary.chat_id for summary in list_threads(app.state.threads)} == {"served-chat"}
    refused = _served(client, "un", path="/agents/general/invoke")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "thread_on_agent_route"
