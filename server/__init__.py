"""The HTTP face: OpenAI-compatible API, LangServe routes, auth and audit hooks."""
