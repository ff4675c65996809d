"""The `relais` sub-commands, one module each."""
