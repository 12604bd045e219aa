"""`speedmeet-loadtest` end to end: a real server subprocess, real aiortc attendees, a complete report;
and its arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtest.cli import build_parser, main

SUMMARY_KEYS = {
    "peers",
    "peers_with_effects",
    "meetings",
    "extensions",
    "connections",
    "early_leaves",
    "drops",
    "ready_to_first_frame_ms",
    "receiver_fps",
    "latency",
    "frames_received",
    "frames_lost",
    "frames_lost_share",
    "stamps_unreadable_share",
    "signalling_errors",
    "rejected_commands",
    "errors_by_code",
    "attendee_seconds",
    "server_cpu_s_per_attendee_s",
    "server_loop_cpu_s_per_attendee_s",
    "attendees_per_process_limit",
    "server_peak_memory_mb",
    "server_loop_lag_max_ms",
    "generator_cpu_s_per_attendee_s",
}


@pytest.mark.timeout(90)
def test_short_loadtest_holds_meetings_and_writes_a_complete_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path, plot_path = tmp_path / "report.json", tmp_path / "plot.png"
    code = main(
        [
            "--log-level", "WARNING",
            "--peers", "4", "--duration", "10", "--ramp", "1",
            "--size", "320x240", "--fps", "15",
            # Short meetings (the session minimum is 60 s), so attendees meet more than one partner.
            "--leave-early", "1", "--leave-after", "2.5-3.5", "--drop", "0", "--extend", "0",
            "--json", str(report_path), "--plot", str(plot_path), "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "glass-to-glass latency" in printed and "meetings held" in printed

    report = json.loads(report_path.read_text())
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = report["summary"]
    assert SUMMARY_KEYS <= summary.keys()
    assert summary["peers"] == 4
    # Two pairs at once, then new pairs after the early leaves.
    assert summary["meetings"] >= 3
    assert summary["early_leaves"] >= 2
    assert summary["ready_to_first_frame_ms"]["count"] >= 4
    assert 0 < summary["ready_to_first_frame_ms"]["p50"] < 3000
    # Frames arrived from the partner, stamped, with a latency a loopback server can plausibly have.
    assert summary["frames_received"] > 50
    assert summary["latency"]["count"] > 50
    # (Relayed over loopback it is a few milliseconds: a receive, a send and a decode. The upper bound
    # leaves room for a machine busy with other work.)
    assert 0 < summary["latency"]["p50_ms"] < 2000
    assert summary["receiver_fps"]["receivers"] >= 2
    assert summary["receiver_fps"]["p50"] > 3
    assert summary["signalling_errors"] == 0
    # Server figures come from its /metrics.
    assert summary["server_cpu_s_per_attendee_s"] > 0
    # The event loop's thread is part of the server's CPU, and the limit it sets follows from it.
    loop = summary["server_loop_cpu_s_per_attendee_s"]
    assert 0 < loop <= summary["server_cpu_s_per_attendee_s"] * 1.05
    assert summary["attendees_per_process_limit"] == round(1 / loop)
    assert summary["server_peak_memory_mb"] > 20
    assert report["server"]["meetings_started"] >= summary["meetings"]
    assert len(report["receivers"]) == 4
    assert report["timeline"] and {"t", "connected", "fps_per_receiver"} <= report["timeline"][0].keys()
    loop_cores = [c for s in report["timeline"] if (c := s["server_loop_cores"]) is not None]
    assert loop_cores and all(0 <= c <= 1.05 for c in loop_cores)  # one thread: never above one core
    assert report["config"]["admin_token"] is None and report["config"]["peers"] == 4
    assert summary["steady"]["from_s"] == 1 + 2  # the ramp, then the default settling time


def test_loadtest_arguments_are_checked() -> None:
    parser = build_parser(env={})
    args = parser.parse_args(["--peers", "8", "--effects-share", "0.5", "--size", "320x240"])
    assert (args.peers, args.effects_share, args.size) == (8, 0.5, (320, 240))
    for bad in (["--effects-share", "1.5"], ["--size", "320"], ["--leave-after", "4-2"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    assert parser.parse_args(["--settle", "20"]).settle == 20
    assert parser.parse_args([]).log_level == "INFO"
    assert build_parser(env={"SPEEDMEET_LOG_LEVEL": "DEBUG"}).parse_args([]).log_level == "DEBUG"


def test_a_negative_settle_time_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--settle", "-1", "--quiet"]) == 2
    assert "settle seconds" in capsys.readouterr().err


def test_a_server_url_needs_its_admin_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", "http://127.0.0.1:9", "--quiet"]) == 2
    assert "admin token" in capsys.readouterr().err
