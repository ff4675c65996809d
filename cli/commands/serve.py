"""`relais serve`: start the gateway (OpenAI-compatible API, LangServe routes, playgrounds)."""

from __future__ import annotations

import argparse

from relais.settings import get_settings

HELP = "start the gateway (default 127.0.0.1:8000)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Host and port; defaults come from RELAIS_HOST / RELAIS_PORT."""
    settings = get_settings()
    parser.add_argument("--host", default=settings.host, help=f"interface to listen on (default {settings.host})")
    parser.add_argument("--port", type=int, default=settings.port, help=f"port (default {settings.port})")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    import uvicorn

    from server.app import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level)
    return 0
