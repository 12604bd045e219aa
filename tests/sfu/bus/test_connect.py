"""Bus settings: validated, secrets never in their repr, TLS when asked for."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from sfu.bus.connect import BusSettings


def test_servers_parse_from_a_comma_separated_list() -> None:
    assert BusSettings.parse_servers(" nats://a:4222, tls://b:4222 ,") == ("nats://a:4222", "tls://b:4222")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"servers": ()},
        {"servers": ("http://a:4222",)},
        {"servers": ("nats://a",), "user": "u"},
        {"servers": ("nats://a",), "password": "p"},
        {"servers": ("nats://a",), "user": "u", "password": "p", "token": "t"},
        {"servers": ("nats://a",), "tls_cert": Path("c.pem")},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BusSettings(**kwargs)  # type: ignore[arg-type]


def test_secrets_stay_out_of_the_repr() -> None:
    text = repr(BusSettings(("nats://a:4222",), user="u", password="hunter2"))
    assert "hunter2" not in text and "auth=user" in text
    assert "s3cret" not in repr(BusSettings(("nats://a:4222",), token="s3cret"))


def test_tls_follows_the_url_or_a_ca() -> None:
    assert BusSettings(("nats://a:4222",)).tls_context() is None
    context = BusSettings(("tls://a:4222",)).tls_context()
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
