"""Fixtures of the web tests (defined in tests/web/api_client.py)."""

from tests.web.api_client import api, demo, start_server
from tests.web.postgres import postgres_server

__all__ = ["api", "demo", "postgres_server", "start_server"]
