"""The bus's subjects and worker reports."""

from __future__ import annotations

import json

import pytest

from sfu.bus.subjects import LOAD_SUBJECT, WorkerReport, command_subject, events_subject, parse_report
from sfu.interface import Load, dump


def test_subjects_are_versioned_and_named_by_worker() -> None:
    assert command_subject("local-1") == "speedmeet.media.v1.local-1.cmd"
    assert events_subject("host_a-2") == "speedmeet.media.v1.host_a-2.events"
    assert LOAD_SUBJECT == "speedmeet.media.v1.load"


@pytest.mark.parametrize("bad", ["", "a.b", "a*", "a>", "a b", "x" * 65])
def test_a_worker_id_is_one_subject_token(bad: str) -> None:
    with pytest.raises(ValueError):
        command_subject(bad)
    with pytest.raises(ValueError):
        WorkerReport(worker=bad, instance="i", state="serving")


def test_a_report_round_trips_and_ignores_fields_added_later() -> None:
    load = Load(worker="w", peers=2, peers_with_effects=0, cpu_seconds=1.5, loop_busy=0.1)
    report = WorkerReport(worker="w", instance="abc", state="draining", load=load, public_ip="192.0.2.9")
    assert parse_report(dump(report)) == report
    newer = json.loads(dump(report)) | {"gpu": "none"}
    assert parse_report(json.dumps(newer)) == report
