"""The field types of request bodies. Each one's JSON schema (in the OpenAPI document) states exactly what
the server accepts, so a value that fits the document is never refused for its form, and one that does
not fit is: no control characters, no blank names, IANA time zones only, real JSON integers and booleans,
dates and times in one documented ISO 8601 form within the years 2000 to 9000."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StringConstraints, WithJsonSchema

# Control characters (C0, DEL, C1): NUL breaks PostgreSQL text, the rest garble names on the page.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
# What str.strip() removes besides the control characters (Unicode white space).
_SPACE = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PRINTABLE = f"^[^{_CONTROL}]*$"
# A note may break lines and hold tabs; no other control character.
NOTE_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
# Printable, with at least one character that is not white space (names are stripped after checking).
NOT_BLANK = f"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$"
# A light check: the address is the organiser's data, not something we deliver mail to.
EMAIL = f"^[{_SPACE}]*[^@{_CONTROL}{_SPACE}]+@[^@{_CONTROL}{_SPACE}]+[{_SPACE}]*$"

# Years outside 2000 - 9000 are typos, and datetime arithmetic near year 1 or 9999 overflows.
MIN_YEAR = 2000
MAX_YEAR = 9000
_YEAR = "(?:[2-8][0-9]{3}|9000)"
_DATE = f"{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,6})?)?"
_OFFSET = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
DATE = f"^{_DATE}$"
DATE_TIME = f"^{_DATE}T{_TIME}{_OFFSET}?$"

TIME_ZONES = sorted(available_timezones())
_TIME_ZONE_SET = frozenset(TIME_ZONES)


def _stripped(value: str) -> str:
    return value.strip()


def _known_zone(value: str) -> str:
    if value not in _TIME_ZONE_SET:
        raise ValueError("unknown time zone: use an IANA name such as Europe/Berlin")
    return value


def _json_integer(value: Any) -> Any:
    """Only JSON numbers: no strings of digits, no booleans (pydantic's lax mode would take both)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    return value


def _matching(pattern: str, form: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or compiled.fullmatch(value) is None:
            raise ValueError(f"must be {form}")
        return value

    return check


_DATE_FORM = f"a date YYYY-MM-DD of the years {MIN_YEAR} to {MAX_YEAR}"
_DATE_TIME_FORM = (
    f"a date and time YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM|-HH:MM] of the years {MIN_YEAR} to {MAX_YEAR}"
)

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK), AfterValidator(_stripped)
]
ShortName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=NOT_BLANK), AfterValidator(_stripped)
]
# Blank means none.
OptionalText = (
    Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE), AfterValidator(_stripped)] | None
)
Email = Annotated[str, StringConstraints(max_length=320, pattern=EMAIL), AfterValidator(_stripped)]
TimeZoneName = Annotated[
    str,
    AfterValidator(_known_zone),
    Field(description="An IANA time zone, e.g. Europe/Berlin", json_schema_extra={"enum": TIME_ZONES}),
]
Flag = StrictBool
# An event's interest tag (the store bounds its length: `web.store.interests.MAX_TAG_LENGTH`).
Tag = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=NOT_BLANK), AfterValidator(_stripped)
]
# A private note on a meeting (at most `web.store.notes.MAX_NOTE_LENGTH`); None or blank: no note.
NoteText = Annotated[str, StringConstraints(max_length=1000, pattern=NOTE_PRINTABLE)] | None


# After the bounds: Annotated[int, Field(ge=..., le=...), JSON_INTEGER] is a JSON number without a
# fraction (2 and 2.0), never "2" or true.
JSON_INTEGER = BeforeValidator(_json_integer)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


# For an optional field that may be absent but not null: `x: T | SkipJsonSchema[None] = ABSENT`.
ABSENT: Any = Field(None, json_schema_extra=_no_default)


Day = Annotated[
    date,
    BeforeValidator(_matching(DATE, _DATE_FORM)),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE}),
]
EventTime = Annotated[
    datetime,
    BeforeValidator(_matching(DATE_TIME, _DATE_TIME_FORM)),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DATE_TIME,
            "description": "ISO 8601, to the minute or finer; without an offset it is read in the event's "
            "time zone. It must be a real date and time.",
        }
    ),
]
