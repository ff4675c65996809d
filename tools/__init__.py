"""@tool functions the agents call; nothing happens at import."""
