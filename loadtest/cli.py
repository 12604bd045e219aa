"""`speedmeet-loadtest`: the command line of the load tester."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from loadtest.media import VideoMode
from loadtest.profile import Profile, ProfileError
from loadtest.report import TimelineSample, format_table, write_plot
from loadtest.runner import LoadTest, LoadTestConfig, LoadTestError

PROGRESS_WIDTH = 24


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 640x480, not {text!r}") from None
    if width % 2 or height % 2 or width < 64 or height < 48:
        raise argparse.ArgumentTypeError("size must be even and at least 64x48")
    return width, height


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a share is between 0 and 1")
    return value


def _range(text: str) -> tuple[float, float]:
    try:
        low, _, high = text.partition("-")
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds like 2-4, not {text!r}") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError("expected 0 <= MIN <= MAX")
    return bounds


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(
        prog="speedmeet-loadtest",
        description="Drive synthetic attendees against a speedmeet server and report what they "
        "experience. Create an event, tickets and a live session through the admin API, connect N "
        "synthetic attendees (aiortc peers sending a stamped video of a person) and let them meet until "
        "the duration ends; then print frame rates, glass-to-glass latency, errors and server cost. "
        "Without --url a server is started in a subprocess with a throwaway data folder.",
    )
    p.add_argument(
        "--log-level", default=env.get("SPEEDMEET_LOG_LEVEL") or "INFO", help="env SPEEDMEET_LOG_LEVEL"
    )
    p.add_argument("--peers", type=int, default=6, help="synthetic attendees (default 6)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    p.add_argument(
        "--url", default=None, help="a running server, e.g. http://127.0.0.1:8080 (default: start one)"
    )
    token = p.add_mutually_exclusive_group()
    token.add_argument("--admin-token", default=None, help="admin token of the server at --url")
    token.add_argument("--admin-token-file", type=Path, default=None, help="file holding the admin token")
    p.add_argument("--effects-share", type=_share, default=0.0, help="share of attendees with blur (0..1)")
    p.add_argument(
        "--meeting-seconds", type=int, default=60, help="meeting length of the session (default 60)"
    )
    p.add_argument(
        "--video",
        choices=["encoded", "live"],
        default="encoded",
        help="encoded: send pre-encoded VP8 (cheap, default); live: aiortc encodes every frame",
    )
    p.add_argument("--size", type=_size, default=(640, 480), help="video size (default 640x480)")
    p.add_argument("--fps", type=float, default=30.0, help="video frame rate sent (default 30)")
    p.add_argument("--ramp", type=float, default=None, help="seconds over which attendees join")
    p.add_argument(
        "--settle",
        type=float,
        default=None,
        help="seconds after the last join left out of the steady-state figures (default 2; 20 waits "
        "until the senders' bitrate has reached its top, as for capacity figures)",
    )
    p.add_argument(
        "--profile",
        choices=["default", "steady"],
        default="default",
        help="default: some extend, connect, leave early, drop; steady: meetings run to their end",
    )
    p.add_argument("--leave-early", type=_share, default=None, help="share of meetings left early")
    p.add_argument(
        "--leave-after",
        type=_range,
        default=None,
        metavar="MIN-MAX",
        help="seconds into a meeting to leave early",
    )
    p.add_argument(
        "--extend", type=_share, default=None, help="share of meetings an attendee offers to extend"
    )
    p.add_argument("--connect", type=_share, default=None, help="share of meetings with a connection request")
    p.add_argument("--drop", type=_share, default=None, help="share of meetings where the network drops")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, default=None, help="write the full report here")
    p.add_argument("--plot", type=Path, default=None, help="write a PNG plot over time here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _progress_printer(duration: float, out: TextIO) -> Any:
    def show(sample: TimelineSample, remaining: float) -> None:
        done = min(1.0, max(0.0, 1.0 - remaining / duration)) if duration > 0 else 1.0
        filled = round(done * PROGRESS_WIDTH)
        bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
        fps = f"{sample.fps_per_receiver:4.1f}" if sample.fps_per_receiver is not None else "   -"
        latency = f"{sample.latency_p50_ms:4.0f}" if sample.latency_p50_ms is not None else "   -"
        cpu = f"{sample.server_cpu_cores:4.2f}" if sample.server_cpu_cores is not None else "   -"
        line = (
            f"\r[{bar}] {100 * done:3.0f}%  attendees {sample.connected:3d}"
            f"  in meetings {sample.in_meetings:3d}  fps {fps}  latency {latency} ms  server cpu {cpu}"
        )
        out.write(line)
        out.flush()

    return show


def run_command(args: argparse.Namespace) -> int:
    # Hundreds of peer connections: ICE and codec chatter at INFO would bury the progress bar.
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    token = args.admin_token
    if args.admin_token_file is not None:
        try:
            token = args.admin_token_file.read_text().strip()
        except OSError as exc:
            print(f"cannot read the admin token file: {exc}", file=sys.stderr)
            return 2
    base = Profile.steady() if args.profile == "steady" else Profile()
    overrides = {
        name: value
        for name, value in (
            ("leave_early", args.leave_early),
            ("extend", args.extend),
            ("connect", args.connect),
            ("drop", args.drop),
            ("leave_seconds", args.leave_after),
        )
        if value is not None
    }
    try:
        profile = Profile(**{**base.to_json(), **overrides})
        config = LoadTestConfig(
            peers=args.peers,
            duration=args.duration,
            url=args.url,
            admin_token=token,
            effects_share=args.effects_share,
            meeting_seconds=args.meeting_seconds,
            video=VideoMode(args.video),
            width=args.size[0],
            height=args.size[1],
            fps=args.fps,
            ramp_seconds=args.ramp,
            **({} if args.settle is None else {"settle_seconds": args.settle}),
            profile=profile,
            seed=args.seed,
        )
    except (LoadTestError, ProfileError) as exc:
        print(f"speedmeet-loadtest: {exc}", file=sys.stderr)
        return 2
    progress = None if args.quiet else _progress_printer(config.duration, sys.stderr)
    try:
        report = asyncio.run(LoadTest(config, progress).run())
    except LoadTestError as exc:
        print(f"\nspeedmeet-loadtest: {exc}", file=sys.stderr)
        return 1
    if progress is not None:
        sys.stderr.write("\n")
    print(format_table(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f"report: {args.json}")
    if args.plot is not None:
        write_plot(report, args.plot)
        print(f"plot: {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return run_command(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
