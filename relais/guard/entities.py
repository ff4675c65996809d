"""spaCy's French NER on short texts (a sentence, a few words around a name), cached and batched.

The guard asks spaCy only where a pattern cannot settle whether words are a person; each call on a
short text pays a fixed cost (≈ 2.3 ms on this machine, measured with spaCy's shared tok2vec, which the guard
has left out since: about 40 % less), while `nlp.pipe` over the same texts costs ≈ 0.9 ms each for six of them.
So a recogniser that has several texts to ask about gives them all at once with `many`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

Entity = tuple[int, int, str]  # start, end (characters in the text asked about), label


class SentenceEntities:
    """The entities spaCy finds in a short text, remembered for the last `size` texts asked about."""

    def __init__(self, nlp: Any, size: int = 1024) -> None:
        """Wrap a loaded spaCy pipeline (its ner component is enough: it embeds its own tok2vec)."""
        self._nlp = nlp
        self._size = size
        self._cache: OrderedDict[str, list[Entity]] = OrderedDict()
        self._lock = threading.Lock()  # the server inspects requests from several threads

    def __call__(self, text: str) -> list[Entity]:
        """The entities of one text."""
        return self.many([text])[0]

    def many(self, texts: list[str]) -> list[list[Entity]]:
        """The entities of each text, the ones not seen before analysed in one batch."""
        with self._lock:
            known = {text: self._cache[text] for text in texts if text in self._cache}
        missing = [text for text in dict.fromkeys(texts) if text not in known]
        for text, doc in zip(missing, self._nlp.pipe(missing), strict=True):
            known[text] = [(entity.start_char, entity.end_char, entity.label_) for entity in doc.ents]
        with self._lock:
            for text in texts:
                self._cache[text] = known[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return [known[text] for text in texts]

    def cache_clear(self) -> None:
        """Forget every text (a benchmark measures the analysis, not the cache)."""
        with self._lock:
            self._cache.clear()
