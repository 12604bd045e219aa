"""effects package."""
