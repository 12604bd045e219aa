"""The HTML pages are served with a strict Content-Security-Policy and never framed, and keep to it: no
inline script, style or event handler in the pages or in what their scripts build."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.web.api_client import Api
from web.middleware import DEFAULT_CSP, PAGE_CSP
from web.pages import STATIC_DIR

PAGES = ["/", "/admin", "/s/12?t=x"]


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_the_page_policy_is_strict() -> None:
    d = _directives(PAGE_CSP)
    assert d["default-src"] == ["'none'"]
    assert d["frame-ancestors"] == ["'none'"]
    for name in ("script-src", "style-src", "img-src", "media-src", "connect-src"):
        assert d[name] == ["'self'"], name
    assert "'unsafe-inline'" not in PAGE_CSP and "'unsafe-eval'" not in PAGE_CSP and "data:" not in PAGE_CSP


@pytest.mark.parametrize("path", PAGES)
async def test_pages_carry_the_policy_and_deny_framing(api: Api, path: str) -> None:
    reply = await api.get(path, token=None)
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
    assert reply.headers["Content-Security-Policy"] == PAGE_CSP
    assert reply.headers["X-Frame-Options"] == "DENY"


async def test_every_other_response_is_never_framed_either(api: Api) -> None:
    for path in ("/api/admin/events", "/healthz", "/no/such/page", "/api/openapi.json"):
        reply = await api.get(path)
        assert reply.headers["X-Frame-Options"] == "DENY", path
        assert reply.headers["Content-Security-Policy"] == DEFAULT_CSP, path


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        self.found += [f"{tag} {n}=" for n in names if n == "style" or n.startswith("on")]
        self.found += [
            f"{tag} {n}=javascript:" for n, v in attrs if v and v.strip().startswith("javascript:")
        ]


@pytest.mark.parametrize("name", ["index.html", "admin.html", "attendee.html"])
def test_pages_have_nothing_inline(name: str) -> None:
    finder = _InlineFinder()
    finder.feed((STATIC_DIR / name).read_text())
    assert finder.found == []


def test_scripts_build_no_inline_styles_or_code() -> None:
    for path in sorted((STATIC_DIR / "js").glob("*.js")):
        text = path.read_text()
        # h(tag, {style: ...}) and setAttribute("style", ...) are refused by the policy: use a class.
        assert not re.search(r"""\bstyle\s*:\s*["'`]""", text), path.name
        assert not re.search(r"""setAttribute\(\s*["']style""", text), path.name
        assert not re.search(r"\beval\(|new Function\(|\.cssText\b", text), path.name
        assert "javascript:" not in text, path.name
