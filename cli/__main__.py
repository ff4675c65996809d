"""`python -m cli ...` runs the `relais` command from a checkout (same as `.venv/bin/relais`)."""

from cli.main import main

raise SystemExit(main())
