"""Relais: the agent gateway behind the company's Open WebUI."""

__version__ = "0.1.0"
