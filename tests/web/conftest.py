"""Fixtures of the web tests (defined in tests/web/api_client.py)."""

from tests.web.api_client import api, demo, start_server

__all__ = ["api", "demo", "start_server"]
