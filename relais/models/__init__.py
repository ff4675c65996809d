"""Model catalog and providers."""
