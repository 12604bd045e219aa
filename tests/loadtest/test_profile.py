"""Behaviour profiles of the synthetic attendees."""

from __future__ import annotations

import pytest

from loadtest.profile import Profile, ProfileError


def test_profiles_are_validated() -> None:
    assert Profile.steady().drop == 0 and Profile.steady().leave_early == 0
    with pytest.raises(ProfileError):
        Profile(extend=1.5)
    with pytest.raises(ProfileError):
        Profile(think_seconds=(2.0, 1.0))
    assert Profile(leave_seconds=(1.0, 2.0)).to_json()["leave_seconds"] == (1.0, 2.0)
