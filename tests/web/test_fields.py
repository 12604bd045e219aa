"""The request field types: what the server accepts is exactly what their JSON schema states."""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from web import fields as f


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: f.Name | None = None
    short: f.ShortName | None = None
    text: f.OptionalText = None
    email: f.Email | None = None
    zone: f.TimeZoneName | None = None
    flag: f.Flag | None = None
    count: Any = None
    day: f.Day | None = None
    at: f.EventTime | None = None


class Counted(BaseModel):
    count: f.Annotated[int, Field(ge=1, le=5), f.JSON_INTEGER]


def _ok(**values: Any) -> Body:
    return Body.model_validate(values)


def _refused(**values: Any) -> None:
    with pytest.raises(ValidationError):
        Body.model_validate(values)


def test_the_white_space_class_is_what_strip_removes() -> None:
    """The patterns spell white space out (JSON schema's \\s and Python's differ): the same set as strip()."""
    blank = re.compile(f"[{f._CONTROL}{f._SPACE}]")
    control = re.compile(f"[{f._CONTROL}]")
    for code in range(sys.maxunicode + 1):
        c = chr(code)
        is_control = code < 0xA0 and not c.isprintable()
        assert (control.fullmatch(c) is not None) == is_control, hex(code)
        assert (blank.fullmatch(c) is not None) == (c.isspace() or is_control), hex(code)


def test_names_are_printable_not_blank_and_stripped_after_the_length_check() -> None:
    assert _ok(name="  Ada Lovelace ").name == "Ada Lovelace"
    assert _ok(name="Zoë 李").name == "Zoë 李"
    blank = ["", "   ", "\u3000"]
    for bad in [*blank, "Ada\x00", "Ada\nLovelace", "A\x85", "\ud800", "x" * 201, " " + "x" * 200]:
        _refused(name=bad)
    assert _ok(name="x" * 200).name == "x" * 200
    assert _ok(short="x" * 100).short == "x" * 100
    _refused(short="x" * 101)


def test_optional_text_may_be_blank_and_email_is_light() -> None:
    assert _ok(text="  ").text == ""
    assert _ok(text=None).text is None
    _refused(text="a\tb")
    assert _ok(email=" ada@example.org ").email == "ada@example.org"
    for bad in ["ada", "ada@", "@example.org", "a b@example.org", "a@b@c", "ada@example.org\x00"]:
        _refused(email=bad)


def test_time_zones_are_exact_iana_names() -> None:
    assert "Europe/Berlin" in f.TIME_ZONES and "UTC" in f.TIME_ZONES
    assert _ok(zone="Europe/Berlin").zone == "Europe/Berlin"
    for bad in [" UTC", "utc", "Nowhere/Nothing", "../../etc/passwd", ""]:
        _refused(zone=bad)
    schema = Body.model_json_schema()["properties"]["zone"]["anyOf"][0]
    assert schema["enum"] == f.TIME_ZONES


def test_integers_and_booleans_are_json_ones() -> None:
    assert Counted.model_validate({"count": 2}).count == 2
    assert Counted.model_validate({"count": 2.0}).count == 2
    for bad in ["2", True, 2.5, 0, 6, None]:
        with pytest.raises(ValidationError):
            Counted.model_validate({"count": bad})
    assert Counted.model_json_schema()["properties"]["count"] == {
        "maximum": 5,
        "minimum": 1,
        "title": "Count",
        "type": "integer",
    }
    assert _ok(flag=True).flag is True
    for bad in [1, 0, "true", "yes"]:
        _refused(flag=bad)


def test_days_and_times_have_one_form_within_the_years() -> None:
    assert _ok(day="2030-06-01").day == date(2030, 6, 1)
    assert _ok(day="9000-12-31").day == date(9000, 12, 31)
    off = ["1999-12-31", "9001-01-01", "2030-6-1", "2030-02-30", "2030-06-01T00:00"]
    for bad in [*off, 1900000000, "٢٠٣٠-06-01"]:
        _refused(day=bad)
    assert _ok(at="2030-06-01T09:00").at == datetime(2030, 6, 1, 9)
    assert _ok(at="2030-06-01T09:00:30.5Z").at == datetime(2030, 6, 1, 9, 0, 30, 500000, tzinfo=UTC)
    aware = _ok(at="2030-06-01T09:00+02:00").at
    assert aware is not None and aware.utcoffset() == timedelta(hours=2)
    assert aware == datetime(2030, 6, 1, 7, tzinfo=UTC)
    for bad in [
        "2030-06-01 09:00",
        "2030-06-01t09:00",
        "2030-06-01T09:00+0200",
        "2030-06-01",
        "1999-06-01T09:00",
        "2030-02-30T09:00",
        "2030-06-01T24:00",
        1900000000,
    ]:
        _refused(at=bad)


def test_the_schema_carries_the_server_patterns() -> None:
    props = Body.model_json_schema()["properties"]
    assert props["name"]["anyOf"][0]["pattern"] == f.NOT_BLANK
    assert props["text"]["anyOf"][0]["pattern"] == f.PRINTABLE
    assert props["email"]["anyOf"][0]["pattern"] == f.EMAIL
    assert props["day"]["anyOf"][0] == {"type": "string", "format": "date", "pattern": f.DATE}
    assert props["at"]["anyOf"][0]["pattern"] == f.DATE_TIME
    year = re.compile(f.DATE)
    assert [y for y in range(1000, 10000) if year.fullmatch(f"{y:04d}-01-01")] == list(
        range(f.MIN_YEAR, f.MAX_YEAR + 1)
    )
