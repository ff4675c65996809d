"""Pointwise reranking with the embedded llama.cpp model (issue 13), for the agent path.

Each candidate passage is scored by the model's log-odds of answering « oui » rather than « non » to
"does this extract help answer the question?", read from the next-token logits after one prompt
evaluation (no generation). The prompt puts the instructions and the question first and the passage last,
so llama.cpp keeps the shared prefix in its KV cache and only each passage's own tokens are evaluated.

bge-reranker-v2-m3 through FlagEmbedding (`retrievers.rerank`, RELAIS_RERANKER_MODEL) stays the
production reranker; this one needs nothing beyond the GGUF the embedded default already loads, and
costs about a second per candidate on two cores, so it belongs where an answer costs a minute anyway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import prompts
from retrievers.search import Hit

PASSAGE_CHARS = 700  # enough for a paragraph's requirement; the evaluation cost grows with each character
YES, NO = "oui", "non"


class LlamaRelevanceScorer:
    """Scores (question, passage) pairs with a loaded `llama_cpp.Llama`, reusing the prompt prefix."""

    def __init__(self, llama: Any, lock: Any = None) -> None:
        """Wrap a loaded model; `lock` serialises use with other callers of the same llama.cpp context."""
        self._llama = llama
        self._lock = lock
        self._yes = self._first_token(YES)
        self._no = self._first_token(NO)

    def _first_token(self, word: str) -> int:
        return self._llama.tokenize(word.encode(), add_bos=False, special=False)[0]

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """The log-odds log P(oui) - log P(non) for each passage, in order (higher = more relevant)."""
        if self._lock is None:
            return [self._score_one(question, passage) for passage in passages]
        with self._lock:
            return [self._score_one(question, passage) for passage in passages]

    def _score_one(self, question: str, passage: str) -> float:
        tokens = self._llama.tokenize(_prompt(question, passage[:PASSAGE_CHARS]).encode(), add_bos=False,
                                      special=True)
        shared = _common_prefix(self._llama.input_ids[:self._llama.n_tokens], tokens)
        # keep the cached prefix (the instructions and the question), evaluate the rest; at least one token
        # is evaluated so the logits belong to this prompt
        self._llama.n_tokens = min(shared, len(tokens) - 1)
        self._llama.eval(tokens[self._llama.n_tokens:])
        logits = next_token_logits(self._llama)
        return float(logits[self._yes] - logits[self._no])


def next_token_logits(llama: Any) -> Any:
    """The logits after the last evaluated token (llama-cpp-python 0.3 keeps none itself without logits_all)."""
    import numpy as np
    from llama_cpp import llama_get_logits_ith

    return np.ctypeslib.as_array(llama_get_logits_ith(llama.ctx, -1), shape=(llama.n_vocab(),))


def _prompt(question: str, passage: str) -> str:
    """Qwen's chat format, written out: the question before the passage so the prefix is shared."""
    return (f"<|im_start|>system\n{prompts.load('rerank_relevance')}<|im_end|>\n"
            f"<|im_start|>user\nQuestion : {question}\n\nExtrait :\n{passage}\n\n"
            f"L'extrait aide-t-il à répondre à la question ? Réponds {YES} ou {NO}.<|im_end|>\n"
            f"<|im_start|>assistant\n")


def _common_prefix(cached: Sequence[int], tokens: Sequence[int]) -> int:
    length = 0
    for old, new in zip(cached, tokens, strict=False):
        if old != new:
            break
        length += 1
    return length


def rerank_hits(question: str, hits: list[Hit], scorer: LlamaRelevanceScorer, top_n: int) -> list[Hit]:
    """The `top_n` hits the model finds most relevant, best first; ties keep the search order.

    Each returned hit's `score` becomes the model's log-odds (the search's `relevance` and `lexical`
    stay in its metadata for the refusal rule).
    """
    scores = scorer.score(question, [hit.text for hit in hits])
    order = sorted(range(len(hits)), key=lambda index: (-scores[index], index))[:top_n]
    return [replace(hits[index], score=round(scores[index], 4)) for index in order]


def embedded_scorer() -> LlamaRelevanceScorer:
    """A scorer on the embedded default GGUF, sharing the process's loaded model and its generation lock."""
    from relais.models import embedded
    from relais.models.catalog import ModelSpec, build_chat_model

    model = build_chat_model(ModelSpec("embedded", "default"), "judge")
    assert isinstance(model, embedded.EmbeddedChatModel)  # the "embedded" provider builds nothing else
    # the chat model and the scorer share one llama.cpp context: never evaluate while it generates
    return LlamaRelevanceScorer(model.client, lock=embedded.GENERATION_LOCK)


def probability(log_odds: float) -> float:
    """The log-odds as a probability of « oui » (for display and thresholds)."""
    return 1.0 / (1.0 + math.exp(-log_odds))
