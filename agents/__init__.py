"""Business agents: one module per case, each an AgentSpec."""
