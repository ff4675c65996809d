"""Web research: screen → search and read → (reformulate → search)* → answer (→ search more)* → check citations.

The question is searched as asked; when the pages read do not contain enough of its key terms
(`coverage.py`), the model rewrites it into 1–3 search queries (a short structured call with the
agent's role; with no usable answer, the missing key terms make the query) and the search runs again,
at most `MAX_SEARCH_ROUNDS` times in all. While answering, the model may call `web_search` itself (where
it supports tool calls); the pages it reads join the extracts, numbered on. Every search and every page
read is a status event. Under the answer, code lists the pages actually read and flags any citation
that points to a page never read.
"""

from __future__ import annotations

import operator
from functools import partial
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import BaseModel, Field

import prompts
from agents.answer import answer_update, call_tool, format_extracts, system_prompt
from agents.base import AgentSpec
from agents.web_research.citations import check_citations, pages_note
from agents.web_research.coverage import judge_coverage, key_terms
from relais.attachments import user_request
from relais.context import Context, context_of
from relais.deliverables import DraftingError, draft_structured, request_problem
from relais.events import emit_sources, emit_status
from relais.publish import publish_answer
from relais.sources import Source, source_key
from relais.state import AgentInput, AgentOutput, AgentState, merge_sources

# Searches in one run, the question's own and the reformulations and the model's web_search calls together.
MAX_SEARCH_ROUNDS = 3
MAX_QUERY_CHARS = 200  # a search engine reads keywords; a pasted paragraph is cut at a word boundary
PAGES_PER_SEARCH = 4  # pages read per query (top_k bounds it too): each costs a fetch and up to 4,000 characters

UNREACHABLE = (
    "Je n'ai pas pu consulter le web : {reason}. Je ne peux donc pas répondre avec des sources "
    "vérifiables. Réessayez plus tard ou interrogez l'assistant général, qui répondra sans source web."
)
PERSONAL_DATA = (
    "Votre demande contient des données personnelles ou confidentielles ({found}) : je ne l'envoie pas à un "
    "moteur de recherche public. Retirez-les de la question, ou utilisez un assistant interne."
)
NOTHING_FOUND = "La recherche web n'a donné aucun résultat exploitable pour cette demande. Reformulez-la ?"


class SearchQueries(BaseModel):
    """The reformulated searches the model proposes."""

    queries: list[str] = Field(min_length=1, max_length=3, description="1 à 3 requêtes de mots-clés.")


class ResearchState(AgentState):
    """The working state: the searches planned and made, and what the pages still miss."""

    planned_queries: NotRequired[list[str]]
    searched: NotRequired[Annotated[list[str], operator.add]]
    search_rounds: NotRequired[int]
    missing_terms: NotRequired[list[str]]


def screen_question(spec: AgentSpec, state: ResearchState) -> Command:
    """Nothing personal goes to a public search engine; an empty request gets a plain answer."""
    from relais.guard import inspect

    question = user_request(state["messages"])
    problem = request_problem(question, spec.title)
    report = inspect([question]) if problem is None else None
    if report is not None and not report.is_clean:
        problem = PERSONAL_DATA.format(found=report.summary())
    if problem is not None:
        emit_status(f"{spec.title} : demande non envoyée au moteur de recherche", done=True)
        return Command(goto=END, update={"messages": [AIMessage(content=problem)]})
    return Command(goto="search_pages", update={"planned_queries": [search_query(question)]})


def search_pages(spec: AgentSpec, state: ResearchState, runtime: Runtime[Context]) -> Command:
    """Run the planned searches, read their best pages, and judge whether the pages answer the question."""
    from tools.web import WebUnavailable, research

    known = list(state.get("sources", []))
    found: list[Source] = []
    failure = None
    pages = min(context_of(runtime).top_k, PAGES_PER_SEARCH)
    for query in state["planned_queries"]:
        try:
            found += research(query, max_results=max(pages, 3), pages=pages,
                              skip_urls={source_key(source) for source in known + found})
        except WebUnavailable as error:  # say so; never answer as if the web had been read
            failure = error
    sources = merge_sources(known, found)
    emit_sources(found)
    rounds = state.get("search_rounds", 0) + 1
    update: dict[str, Any] = {"sources": found, "searched": state["planned_queries"], "search_rounds": rounds,
                              "extracts": format_extracts(sources)}
    if failure is not None and not sources:
        emit_status(f"{spec.title} : web inaccessible", done=True)
        return Command(goto=END, update={**update, "messages": [AIMessage(content=UNREACHABLE.format(reason=failure))]})
    coverage = judge_coverage(user_request(state["messages"]), sources)
    emit_status(f"{spec.title} : {len(sources)} page(s) lue(s), {coverage.summary()}")
    update["missing_terms"] = list(coverage.missing)
    if sources and (coverage.answers or rounds >= MAX_SEARCH_ROUNDS):
        return Command(goto="draft_answer", update=update)
    if rounds >= MAX_SEARCH_ROUNDS:
        emit_status(f"{spec.title} : aucun résultat exploitable", done=True)
        return Command(goto=END, update={**update, "messages": [AIMessage(content=NOTHING_FOUND)]})
    return Command(goto="plan_queries", update=update)


def plan_queries(spec: AgentSpec, state: ResearchState, runtime: Runtime[Context]) -> Command:
    """Reformulate the search: the model's 1–3 queries, or the key terms when it gives nothing usable."""
    question = user_request(state["messages"])
    tried = state.get("searched", [])
    emit_status(f"{spec.title} : les pages trouvées ne répondent pas, reformulation de la recherche…")
    proposed, usage = _model_queries(spec, question, tried, state.get("missing_terms", []), context_of(runtime))
    queries = new_queries(proposed, tried) or new_queries([fallback_query(question, state.get("missing_terms", []))],
                                                          tried)
    update: dict[str, Any] = {"usage": usage} if usage else {}
    if not queries:  # nothing left to try: answer from what was found, or say nothing was
        if state.get("sources"):
            return Command(goto="draft_answer", update=update)
        return Command(goto=END, update={**update, "messages": [AIMessage(content=NOTHING_FOUND)]})
    emit_status(f"{spec.title} : nouvelle recherche — " + ", ".join(f"« {query} »" for query in queries))
    return Command(goto="search_pages", update={**update, "planned_queries": queries})


def draft_answer(spec: AgentSpec, state: ResearchState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The streamed answer from the pages read, with `web_search` offered when another search may help.

    The search is offered while searches remain and the pages still miss some of the question's key
    terms: when they hold them all, a small model offered a tool calls it anyway, for nothing. The
    model sees the pages as extracts and the searches already made in its prompt, never the earlier
    tool exchange: a small model shown its own tool call writes another one as text, as its answer.
    """
    context = context_of(runtime)
    searches_left = state.get("search_rounds", 0) < MAX_SEARCH_ROUNDS and \
        state.get("tool_rounds", 0) < context.max_tool_rounds
    tools = list(spec.tools) if searches_left and state.get("missing_terms") else None
    emit_status(f"{spec.title} : rédaction de la réponse…")
    extracts = state.get("extracts", "")
    prompt = system_prompt(spec, extracts, bool(state.get("structured")))
    if tools:
        prompt += "\n\n" + prompts.render("web_research_searches", searched="\n".join(state.get("searched", [])),
                                           missing=", ".join(state.get("missing_terms", [])))
    conversation: list[AnyMessage] = [message for message in state["messages"]
                    if not isinstance(message, ToolMessage) and not getattr(message, "tool_calls", None)]
    return answer_update(spec, prompt, conversation, context, tools=tools, public=[extracts] if extracts else [])


def search_more(spec: AgentSpec, state: ResearchState) -> dict[str, Any]:
    """Run the model's tool calls (allowlist enforced): the pages a `web_search` reads join the extracts."""
    known = list(state.get("sources", []))
    found: list[Source] = []
    replies, queries = [], []
    for call in getattr(state["messages"][-1], "tool_calls", []):
        reply, sources = call_tool(spec, dict(call))
        seen = {source_key(source) for source in known + found}
        new = [source for source in sources if source_key(source) not in seen]
        if sources:  # the pages are in the extracts now: the reply only points to their numbers
            reply = _pointer_to(reply, new, first_number=len(known) + len(found) + 1)
            queries.append(str(call["args"].get("query", "")))
        found += new
        replies.append(reply)
    emit_sources(found)
    coverage = judge_coverage(user_request(state["messages"]), known + found)
    return {"messages": replies, "sources": found, "searched": queries, "extracts": format_extracts(known + found),
            "missing_terms": list(coverage.missing), "search_rounds": state.get("search_rounds", 0) + 1,
            "tool_rounds": state.get("tool_rounds", 0) + 1}


def list_pages_read(spec: AgentSpec, state: ResearchState) -> dict[str, Any]:
    """Append the pages actually read under the answer, flagging citations that point to no page read."""
    answer = state["messages"][-1]
    sources = state.get("sources", [])
    if not sources or not isinstance(answer, AIMessage):
        return {}
    emit_status(f"{spec.title} : vérification des pages citées…")
    check = check_citations(answer.text, sources)
    note = "\n\n" + pages_note(check, sources)
    publish_answer(note)  # streamed after the answer, so what was shown is the final message
    flagged = len(check.unknown_numbers) + len(check.unread_urls)
    emit_status(f"{spec.title} : {len(check.cited)} page(s) citée(s) sur {len(sources)} lue(s)"
                + ("" if check.sound else f", {flagged} citation(s) sans page lue"), done=True)
    return {"messages": [answer.model_copy(update={"content": answer.text + note})]}


def route_after_draft(state: ResearchState) -> Literal["search_more", "list_pages_read"]:
    """Tool calls in the model's answer are run; a plain answer gets its list of pages read."""
    last = state["messages"][-1]
    return "search_more" if isinstance(last, AIMessage) and last.tool_calls else "list_pages_read"


def build_research_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile the web-research agent for `spec`."""
    builder = StateGraph(ResearchState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("screen_question", partial(screen_question, spec), destinations=("search_pages", END))
    builder.add_node("search_pages", partial(search_pages, spec),
                     destinations=("draft_answer", "plan_queries", END))
    builder.add_node("plan_queries", partial(plan_queries, spec), destinations=("search_pages", "draft_answer", END))
    builder.add_node("draft_answer", partial(draft_answer, spec))
    builder.add_node("search_more", partial(search_more, spec))
    builder.add_node("list_pages_read", partial(list_pages_read, spec))
    builder.add_edge(START, "screen_question")
    builder.add_conditional_edges("draft_answer", route_after_draft)
    builder.add_edge("search_more", "draft_answer")
    builder.add_edge("list_pages_read", END)
    return builder.compile(name=spec.label)


# --- queries ----------------------------------------------------------------------------------------


def search_query(text: str) -> str:
    """A text as a search query: on one line, cut at a word boundary under `MAX_QUERY_CHARS`."""
    text = " ".join(text.split())
    if len(text) <= MAX_QUERY_CHARS:
        return text
    return text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0]


def new_queries(proposed: list[str], tried: list[str]) -> list[str]:
    """The proposed queries worth running: not empty, not already searched, nothing personal in them."""
    from relais.guard import inspect

    done = {query.casefold() for query in tried}
    queries = []
    for query in (search_query(text.strip("«»\"' ")) for text in proposed):
        if query and query.casefold() not in done and inspect([query]).is_clean:
            done.add(query.casefold())
            queries.append(query)
    return queries[:3]


def fallback_query(question: str, missing: list[str]) -> str:
    """The question's key terms, the ones the pages missed first: a query when the model gives none."""
    terms = list(dict.fromkeys([*missing, *key_terms(question).values()]))
    return " ".join(terms)


def _model_queries(spec: AgentSpec, question: str, tried: list[str], missing: list[str],
                   context: Context) -> tuple[list[str], dict[str, Any]]:
    prompt = prompts.render("web_research_queries", question=question, tried="\n".join(tried) or "(aucune)",
                            missing=", ".join(missing) or "(aucun)")
    try:
        plan, usage = draft_structured(SearchQueries, [HumanMessage(prompt)], role=spec.role,
                                       sensitivity=spec.sensitivity, guard=spec.guard, overrides=context.models)
    except DraftingError:  # the key terms make the query instead (logged where drafting failed)
        return [], {}
    return list(plan.queries), usage


def _pointer_to(reply: Any, new: list[Source], first_number: int) -> ToolMessage:
    """The tool's reply, once its pages are in the extracts: their numbers and addresses, not their text again."""
    if not new:
        text = "Aucune page nouvelle : les pages trouvées sont déjà dans les extraits."
    else:
        text = "Pages ajoutées aux extraits : " + "; ".join(
            f"[{number}] {source['title']} — {source.get('url', '')}"
            for number, source in enumerate(new, start=first_number))
    return ToolMessage(content=text, tool_call_id=reply.tool_call_id, name=reply.name, artifact=new)
