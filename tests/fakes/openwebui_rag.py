# ruff: noqa: E501
"""How Open WebUI 0.12.4 puts attached files into a chat request, for tests of `relais.attachments`.

`DEFAULT_RAG_TEMPLATE` is copied verbatim from open_webui/config.py; `source_context` follows
open_webui/utils/middleware.py `get_source_context` (one `<source>` per chunk, numbered per file, the
name unescaped, the body as is); `rag_user_message` follows `apply_source_context_to_messages` with
RAG_SYSTEM_CONTEXT off: `rag_template` fills {{CONTEXT}} and the result is put before the user's text,
joined by a newline (`update_message_content(..., append=False)`).
"""

from __future__ import annotations

from collections.abc import Sequence

# Verbatim (long lines included): a test of the parser must read what Open WebUI really sends.
DEFAULT_RAG_TEMPLATE = """### Task:
Respond to the user query using the provided context, incorporating inline citations in the format [id] **only when the <source> tag includes an explicit id attribute** (e.g., <source id="1">).

### Guidelines:
- If you don't know the answer, clearly state that.
- If uncertain, ask the user for clarification.
- Respond in the same language as the user's query.
- If the context is unreadable or of poor quality, inform the user and provide the best possible answer.
- If the answer isn't present in the context but you possess the knowledge, explain this to the user and provide the answer using your own understanding.
- **Only include inline citations using [id] (e.g., [1], [2]) when the <source> tag includes an id attribute.**
- Do not cite if the <source> tag does not contain an id attribute.
- Do not use XML tags in your response.
- Ensure citations are concise and directly related to the information provided.

### Example of Citation:
If the user asks about a specific topic and the information is found in a source with a provided id attribute, the response should include the citation like in the following example:
* "According to the study, the proposed method increases efficiency by 20% [1]."

### Output:
Provide a clear and direct response to the user's query, including inline citations in the format [id] only when the <source> tag with id attribute is present in the context.

<context>
{{CONTEXT}}
</context>
"""


def source_context(chunks: Sequence[tuple[str, str]]) -> str:
    """`<source>` blocks for (file name, chunk text) pairs, in order; chunks of one file share its id."""
    ids: dict[str, int] = {}
    context = ""
    for name, text in chunks:
        ids.setdefault(name, len(ids) + 1)
        context += f'<source id="{ids[name]}" name="{name}" resource-type="file">{text}</source>\n'
    return context.strip()


def rag_template(context: str) -> str:
    """The default template filled with a context (open_webui/utils/task.py `rag_template`)."""
    return DEFAULT_RAG_TEMPLATE.replace("{{CONTEXT}}", context)


def rag_user_message(user_text: str, chunks: Sequence[tuple[str, str]]) -> str:
    """The last user message Open WebUI sends when files are attached (RAG_SYSTEM_CONTEXT off)."""
    return f"{rag_template(source_context(chunks))}\n{user_text}"
