"""Open WebUI's background tasks (title, tags, follow-ups, search queries) answered without a model.

Open WebUI asks the chat's own model for a title, tags and follow-up suggestions around each answer.
On the embedded default there is one model and one core's worth of generation (`GENERATION_LOCK`):
measured in a browser run, a 12 s title generation ran inside a 132 s answer and a 23 s follow-up
generation after it. So when the task's model would be the embedded one, these tasks are answered
here, from the conversation, in the JSON Open WebUI parses (open_webui/utils/middleware.py and
utils/task.py): the user's answer never waits behind them. With a model server or Mistral the tasks
go to the `fast` model as before. Tasks without a sensible answer of their own (function calling,
image prompts, mixture-of-agents) always go to the model.
"""

from __future__ import annotations

import json
import re

# The {{TASK}} values of open_webui/constants.py TASKS this module answers.
TITLE, TAGS, FOLLOW_UPS, QUERIES, EMOJI, AUTOCOMPLETE = (
    "title_generation", "tags_generation", "follow_up_generation", "query_generation", "emoji_generation",
    "autocomplete_generation")
# Without the task header, the task is told by the first words of Open WebUI's default task prompts.
_PROMPT_KINDS = (("concise title", TITLE), ("broad tags", TAGS), ("might naturally send next", FOLLOW_UPS),
                 ("search queries", QUERIES), ("autocompletion", AUTOCOMPLETE))
_HISTORY = re.compile(r"<chat_history>(.*?)</chat_history>", re.DOTALL | re.IGNORECASE)
_USER_LINE = re.compile(r"^USER:\s*(.+)$", re.MULTILINE)
TITLE_WORDS = 7


def task_kind(header: str | None, prompt: str) -> str:
    """Which task a call is: the `{{TASK}}` header's value, else guessed from the task prompt's heading."""
    if header and header.strip():
        return header.strip()
    heading = prompt.lstrip()[:200].lower()
    return next((kind for word, kind in _PROMPT_KINDS if word in heading), "")


def first_user_text(prompt: str) -> str:
    """The user's first message inside the task prompt's chat history (the prompt itself when there is none)."""
    history = _HISTORY.search(prompt)
    found = _USER_LINE.search(history.group(1)) if history else None
    return (found.group(1) if found else prompt).strip()


def short_title(text: str) -> str:
    """The first words of the user's request, as a title (no model: exact, instant, never invented)."""
    words = re.sub(r"[`*#>\[\]()]", " ", text).split()
    title = " ".join(words[:TITLE_WORDS]).rstrip(" ,;:.?!")
    return (title[:1].upper() + title[1:] + ("…" if len(words) > TITLE_WORDS else "")) or "Nouvelle conversation"


def answer_without_model(kind: str, prompt: str) -> str | None:
    """The task's answer in the format Open WebUI parses, or None for a task only a model can do."""
    request = first_user_text(prompt)
    answers = {
        TITLE: lambda: json.dumps({"title": short_title(request)}, ensure_ascii=False),
        TAGS: lambda: json.dumps({"tags": []}),  # no tag beats a wrong one; the model adds them when one serves
        FOLLOW_UPS: lambda: json.dumps({"follow_ups": []}),
        QUERIES: lambda: json.dumps({"queries": [request]}, ensure_ascii=False),
        EMOJI: lambda: "💬",
        AUTOCOMPLETE: lambda: json.dumps({"text": ""}),
    }
    answer = answers.get(kind)
    return answer() if answer is not None else None
