"""The `relais` command line: the one package allowed to import every layer (lazily, per command)."""
