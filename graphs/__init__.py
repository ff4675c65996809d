"""LangGraph graphs: the supervisor, the agent subgraphs and the indexer."""
