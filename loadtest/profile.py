"""How synthetic attendees behave: the knobs of a load test's behaviour profile.

Each attendee loops: think a moment, press Ready, meet, press Ready again, until the run ends. In each
meeting it draws what it will do from these shares (independently, so some meetings see several).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class ProfileError(ValueError):
    """A profile value is out of range."""


@dataclass(frozen=True)
class Profile:
    think_seconds: tuple[float, float] = (0.3, 1.5)  # pause before pressing Ready (again)
    leave_early: float = 0.1  # share of meetings the attendee leaves before the end
    leave_seconds: tuple[float, float] | None = None  # when it leaves early; None: somewhere in the meeting
    extend: float = 0.3  # share of meetings the attendee offers to extend (once the window opens)
    accept_extend: float = 0.7  # share of partners' offers it accepts
    connect: float = 0.4  # share of meetings it sends a connection request
    accept_connect: float = 0.8  # share of requests it accepts
    drop: float = 0.03  # share of meetings its network drops (socket and peer connection)
    drop_seconds: tuple[float, float] = (1.0, 4.0)  # how long it stays away before reconnecting

    def __post_init__(self) -> None:
        for name in ("leave_early", "extend", "accept_extend", "connect", "accept_connect", "drop"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ProfileError(f"{name} must be a share between 0 and 1, got {value}")
        for name in ("think_seconds", "drop_seconds", "leave_seconds"):
            if getattr(self, name) is None:
                continue
            low, high = getattr(self, name)
            if not 0.0 <= low <= high:
                raise ProfileError(f"{name} must be a range 0 <= low <= high, got {(low, high)}")

    @classmethod
    def steady(cls) -> Profile:
        """Meetings run to their end with no drops: for capacity measurements."""
        return cls(leave_early=0.0, extend=0.0, connect=0.2, drop=0.0, think_seconds=(0.2, 0.6))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
