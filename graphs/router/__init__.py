"""The router: which agent a request is for (slash commands, a local classifier, the router model last)."""
