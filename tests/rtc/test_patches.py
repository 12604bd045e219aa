"""rtc.patches: each listed aiortc internal exists in the installed aiortc (an upgrade that drops one fails
here), every name-mangled aiortc attribute the code uses is listed, and installing a patch twice changes
nothing."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, clock, rtp
from aiortc.jitterbuffer import JitterBuffer

from rtc import patches, speedups
from rtc.patches import AIORTC_INTERNALS, SPEEDUPS, AiortcInternal, Patch

ROOT = Path(__file__).resolve().parents[2]
# Where the project's code lives (tests may poke at more internals than the code relies on).
SOURCE_DIRS = ("aio", "effects", "loadtest", "matcher", "rtc", "sfu", "web", "wire", "bench")


@pytest.fixture
async def instances() -> AsyncIterator[list[Any]]:
    """Real aiortc (and aioice) objects of every class whose instance attributes are listed."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        transceiver = pc.addTransceiver("video")
        ice = transceiver.sender.transport.transport
        yield [transceiver.receiver, transceiver.sender, ice, ice._connection, JitterBuffer(capacity=16)]
    finally:
        await pc.close()


def _label(internal: AiortcInternal) -> str:
    owner = f"{internal.owner}." if internal.owner else ""
    return f"{internal.module}.{owner}{internal.attribute}"


def test_every_internal_says_why() -> None:
    labels = [_label(i) for i in AIORTC_INTERNALS]
    assert len(labels) == len(set(labels))
    for internal in AIORTC_INTERNALS:
        assert internal.why.strip(), _label(internal)
        if internal.kind == "assigned":
            assert internal.used_in is not None, _label(internal)


@pytest.mark.parametrize("internal", AIORTC_INTERNALS, ids=_label)
async def test_the_installed_aiortc_still_has_it(internal: AiortcInternal, instances: list[Any]) -> None:
    module = importlib.import_module(internal.module)
    if internal.owner is None:
        assert hasattr(module, internal.attribute)
    else:
        owner = getattr(module, internal.owner)
        assert inspect.isclass(owner)
        if internal.kind == "class":
            assert hasattr(owner, internal.attribute)
        elif internal.kind == "instance":
            (instance,) = [obj for obj in instances if type(obj) is owner]
            assert hasattr(instance, internal.attribute)
    if internal.used_in is not None:
        user, snippet = internal.used_in
        assert snippet in inspect.getsource(importlib.import_module(user)), (user, snippet)


def test_every_name_mangled_aiortc_attribute_in_the_code_is_listed() -> None:
    listed = {i.attribute for i in AIORTC_INTERNALS}
    used: dict[str, str] = {}
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in re.findall(r"\b_RTC[A-Za-z]+__[A-Za-z_]+", path.read_text()):
                used.setdefault(name, str(path.relative_to(ROOT)))
    assert used, "the scan found no aiortc internals at all: is it looking in the right place?"
    assert {name: where for name, where in used.items() if name not in listed} == {}


def test_installing_twice_changes_nothing() -> None:
    patches.install(SPEEDUPS)
    replaced = (rtp.compute_audio_level_dbov, clock.current_ms, clock.current_ntp_time)
    assert patches.install(SPEEDUPS) is None
    assert (rtp.compute_audio_level_dbov, clock.current_ms, clock.current_ntp_time) == replaced
    assert replaced == (speedups.compute_audio_level_dbov, speedups.current_ms, speedups.current_ntp_time)
    assert patches.is_installed(SPEEDUPS)


def test_a_patch_applies_once_and_hands_back_its_first_result() -> None:
    applied: list[object] = []

    def apply() -> object:
        applied.append(object())
        return applied[-1]

    patch = Patch("test-once", apply)
    assert not patches.is_installed(patch)
    first = patches.install(patch)
    assert patches.install(patch) is first
    assert applied == [first]
    assert patches.is_installed(patch)
    # Another patch under the same name is a mistake, not a second install.
    impostor = Patch("test-once", apply)
    assert not patches.is_installed(impostor)
    with pytest.raises(ValueError, match="test-once"):
        patches.install(impostor)
    assert applied == [first]
