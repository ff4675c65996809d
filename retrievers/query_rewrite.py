"""Query rewriting for questions asked in everyday words (issue 13), in the GMP guide's vocabulary.

A paraphrase ("how often must the people who clean the clean rooms be retrained?") shares no word with
the paragraph that answers it, so BM25 finds nothing and the embeddings miss it. The rewrite is searched
together with the question (`expanded_query`), never instead of it: a bad rewrite can add noise but not
lose the question's own words. It costs one short generation (the embedded model: a few seconds), so it
is an optional step of the agent path, not part of `search()`.
"""

from __future__ import annotations

import re

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import Runnable

import prompts

MAX_REWRITE_CHARS = 400  # a rewrite is one or two sentences; anything longer is the model rambling


def rewrite_query(question: str, model: Runnable) -> str:
    """The question restated in the GMP guide's French vocabulary ("" when the model gives nothing usable).

    Args:
        question: the user's question, in French or English.
        model: a LangChain chat model (`relais.models.catalog.get_chat_model(role, sensitivity)`).
    """
    messages = [SystemMessage(prompts.load("query_rewrite")), HumanMessage(question)]
    answer = model.invoke(messages)
    return clean_rewrite(answer.content if isinstance(answer.content, str) else str(answer.content))


def clean_rewrite(text: str) -> str:
    """The model's rewrite without quotes, labels or a trailing ramble, on one line."""
    text = re.sub(r"^\s*(?:reformulation|question reformulée|rewrite)\s*:\s*", "", text.strip(), flags=re.IGNORECASE)
    text = " ".join(text.split()).strip("«»\"' ")
    if len(text) > MAX_REWRITE_CHARS:
        cut = text.rfind(". ", 0, MAX_REWRITE_CHARS)
        text = text[:cut + 1] if cut > 0 else text[:MAX_REWRITE_CHARS]
    return text


def expanded_query(question: str, rewrite: str) -> str:
    """What to search: the question, then its rewrite (the question alone when the rewrite is empty)."""
    return f"{question}\n{rewrite}" if rewrite.strip() else question
