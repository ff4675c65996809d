"""Loaders, chunking, embeddings, stores, hybrid search and reranking."""
