"""Every sentence visible to dense search: chunks embedded as windows, matched back to their chunk."""

from __future__ import annotations

from langchain_core.documents import Document

from retrievers.index import EMBED_BODY_CHARS, WINDOW_CHARS, embedded_windows
from retrievers.search import CANDIDATES, _dense, _Loaded
from retrievers.store import chunk_of, window_id

METADATA = {"part": "I", "chapter": "5", "chapter_title": "Production", "section": "Généralités",
            "paragraph": "5.1-5.4", "chunk_id": "abc-00001"}


def _long_chunk() -> Document:
    lines = [f"5.{number} Phrase numéro {number} sur la production, avec assez de mots pour peser." * 2
             for number in range(1, 13)]
    return Document(page_content="\n".join(lines), metadata=dict(METADATA))


def test_every_line_of_a_long_chunk_is_in_some_window():
    document = _long_chunk()
    windows = embedded_windows(document)
    assert len(windows) > 2
    header = "Partie I | Chapitre 5 Production | Généralités | §5.1-5.4"
    assert all(window.startswith(header + "\n") for window in windows)
    bodies = [window[len(header) + 1:] for window in windows]
    assert bodies[0] == document.page_content[:EMBED_BODY_CHARS]  # the opening is embedded as before
    for line in document.page_content.splitlines():
        assert any(line in body for body in bodies), line
    assert all(len(body) <= WINDOW_CHARS for body in bodies[1:])
    # windows repeat little of the opening: the guide costs about its own length to embed
    assert sum(map(len, bodies)) < 1.3 * len(document.page_content)


def test_a_short_chunk_is_one_window():
    document = Document(page_content="Les locaux doivent être propres.", metadata=dict(METADATA))
    assert embedded_windows(document) == ["Partie I | Chapitre 5 Production | Généralités | §5.1-5.4\n"
                                          "Les locaux doivent être propres."]


def test_window_ids_name_their_chunk():
    assert window_id("abc-00001", 0) == "abc-00001"
    assert chunk_of(window_id("abc-00001", 0)) == "abc-00001"
    assert window_id("abc-00001", 3) != "abc-00001"
    assert chunk_of(window_id("abc-00001", 3)) == "abc-00001"


class _WindowStore:
    """Chroma's query answer for a fixed list of (window id, distance), best first."""

    def __init__(self, results: list[tuple[str, float]]) -> None:
        self.results = results
        self.asked: list[int] = []

    def query(self, query_embeddings, n_results, include, where=None):  # noqa: ANN001
        self.asked.append(n_results)
        ids, distances = zip(*self.results[:n_results], strict=True)
        return {"ids": [list(ids)], "distances": [list(distances)]}


def test_dense_search_keeps_each_chunks_best_window():
    chunks = [Document(page_content=f"chunk {n}", metadata={"chunk_id": f"c{n}"}) for n in range(3)]
    store = _WindowStore([(window_id("c2", 4), 0.10), (window_id("c0", 0), 0.15), (window_id("c2", 0), 0.20),
                          (window_id("c1", 1), 0.30), ("gone-00001", 0.35)])
    loaded = _Loaded(chunks, {"c0": 0, "c1": 1, "c2": 2}, None, store, {}, vectors=5)
    ranking = _dense(loaded, [0.0])
    assert [index for index, _ in ranking] == [2, 0, 1]  # chunk 2 by its fifth window, once
    assert [round(score, 2) for _, score in ranking] == [0.90, 0.85, 0.70]
    assert store.asked == [5]  # never more windows than the collection holds


def test_dense_search_returns_at_most_the_candidate_count():
    count = CANDIDATES + 10
    chunks = [Document(page_content="x", metadata={"chunk_id": f"c{n}"}) for n in range(count)]
    store = _WindowStore([(f"c{n}", n / 1000) for n in range(count)])
    loaded = _Loaded(chunks, {f"c{n}": n for n in range(count)}, None, store, {}, vectors=count)
    assert len(_dense(loaded, [0.0])) == CANDIDATES
