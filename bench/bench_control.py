"""The control plane under a join storm and ready storms: one `speedmeet serve` process per size, N
simulated attendees on signalling WebSockets only (no media, no offers), driven by this process.

For each size: a fresh server (SQLite in a throwaway folder, or a database in a throwaway PostgreSQL
cluster), an event of the server's today with N tickets and a live session (60 s meetings, rematches
allowed at once). The attendees join over ~10 s and press Ready on `welcome` and again whenever their
meeting ends, so the meetings that start together end together and everyone presses Ready at once.

Printed per size: socket open -> `welcome` and `ready` sent -> `matched` (p50 / p95 / max, over the whole
run, in seconds), the pairing round's p95 if the server exposes it on /metrics, the server's CPU (cores,
and CPU seconds per attendee-minute, from /proc/<pid>/stat), its peak resident memory (VmHWM) and the
growth of its resident memory per attendee (highest VmRSS sampled during the run, less VmRSS before the
first join), this process's CPU (the client), and the machine's 1-minute load average at the start and at
the end of the run. Other work on the machine makes the figures worse: check the load average.

    python -m bench control
    SPEEDMEET_BENCH_CONTROL_SIZES=200,1000 SPEEDMEET_BENCH_CONTROL_SECONDS=90 python -m bench control
    SPEEDMEET_BENCH_CONTROL_DATABASE=postgresql python -m bench control

Env: SPEEDMEET_BENCH_CONTROL_SIZES (attendees per run, default 200,1000,2000,5000),
SPEEDMEET_BENCH_CONTROL_SECONDS (from the first join to the end of a run, default 90),
SPEEDMEET_BENCH_CONTROL_RAMP_SECONDS (the join storm's length, default 10),
SPEEDMEET_BENCH_CONTROL_MEETING_SECONDS (default 60, the server's least),
SPEEDMEET_BENCH_CONTROL_DATABASE (sqlite, postgresql, or both comma-separated; default sqlite),
SPEEDMEET_BENCH_CONTROL_JSON (where to write the raw figures; default bench/out/control-<time>.json).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.control_client import ClientResult, ControlLoad
from bench.control_server import (
    Admin,
    PostgresCluster,
    ServerProcess,
    counter_delta,
    cpu_seconds,
    histogram_names,
    histogram_quantile,
    memory_kb,
    raise_nofile_limit,
    scrape,
)

OUT_DIR = Path(__file__).resolve().parent / "out"
IDLE_WAIT_SECONDS = 60.0  # for the server's start-up work (effect models) to finish, at most
SAMPLE_SECONDS = 1.0
# A histogram of the pairing round's duration, under whatever name a server gives it.
PAIRING_PATTERN = r"^speedmeet_\w*(pairing|match\w*round|round\w*match)\w*_seconds_bucket$"
LOOP_LAG = "speedmeet_event_loop_lag_seconds"
LOOP_CPU = "speedmeet_event_loop_cpu_seconds_total"
NOT_EXPOSED = "n/a (server does not expose it)"


@dataclass(frozen=True)
class RunConfig:
    attendees: int
    seconds: float = 90.0
    ramp_seconds: float = 10.0
    meeting_seconds: int = 60
    database: str = "sqlite"  # or "postgresql" (then `database_url` is set)
    database_url: str | None = None
    idle_wait_seconds: float = IDLE_WAIT_SECONDS
    log_level: str = "INFO"


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95 (nearest rank) and max; None when there are no values."""
    if not values:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]

    return {"p50": rank(0.50), "p95": rank(0.95), "max": ordered[-1], "n": len(ordered)}


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _sample(server: ServerProcess, load: ControlLoad, t0: float, out: list[dict[str, float]]) -> None:
    """Once a second: the server's CPU and memory, the sockets welcomed, the load average."""
    while True:
        await asyncio.sleep(SAMPLE_SECONDS)
        with contextlib.suppress(OSError, ValueError):
            mem = memory_kb(server.pid)
            out.append(
                {
                    "t": round(time.monotonic() - t0, 2),
                    "server_cpu_s": cpu_seconds(server.pid),
                    "server_rss_kb": mem.get("VmRSS", 0),
                    "connected": load.connected,
                    "load1": os.getloadavg()[0],
                }
            )


async def measure(config: RunConfig) -> dict[str, Any]:
    """One size: start a server, set up the session, drive the attendees, stop the server (always)."""
    raise_nofile_limit()  # for the sockets here and, inherited, in the server
    server = ServerProcess(config.database_url, log_level=config.log_level)
    try:
        await server.start()
        async with aiohttp.ClientSession() as http:
            admin = Admin(http, server.url, server.admin_token)
            live = await admin.live_session(config.attendees, config.meeting_seconds, config.seconds)
            idle = await server.wait_idle(config.idle_wait_seconds) if config.idle_wait_seconds > 0 else None
            load = ControlLoad(server.url, live.session_id, live.secrets)
            metrics0 = await scrape(http, server.url)
            rss0 = memory_kb(server.pid).get("VmRSS", 0)
            load0 = os.getloadavg()
            t0, server0, own0 = time.monotonic(), cpu_seconds(server.pid), _own_cpu()
            samples: list[dict[str, float]] = []
            sampler = asyncio.create_task(_sample(server, load, t0, samples), name="bench-control-sampler")
            try:
                client = await load.run(config.ramp_seconds, config.seconds)
            finally:
                wall = time.monotonic() - t0
                server1, own1 = cpu_seconds(server.pid), _own_cpu()
                mem1 = memory_kb(server.pid)
                load1 = os.getloadavg()
                sampler.cancel()
                await asyncio.gather(sampler, return_exceptions=True)
            metrics1 = await scrape(http, server.url)
        exit_code = await server.stop()
        return _report(
            config, client, wall=wall, server_cpu=server1 - server0, client_cpu=own1 - own0,
            rss0=rss0, mem1=mem1, samples=samples, load=(load0, load1), idle=idle,
            metrics=(metrics0, metrics1), exit_code=exit_code,
        )  # fmt: skip
    except BaseException:
        tail = server.log_tail()
        if tail:
            print(f"server log (last lines):\n{tail}", flush=True)
        raise
    finally:
        await server.stop()
        server.remove_files()


def _report(
    config: RunConfig,
    client: ClientResult,
    *,
    wall: float,
    server_cpu: float,
    client_cpu: float,
    rss0: int,
    mem1: dict[str, int],
    samples: list[dict[str, float]],
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
    idle: bool | None,
    metrics: tuple[dict[Any, float], dict[Any, float]],
    exit_code: int | None,
) -> dict[str, Any]:
    before, after = metrics
    rss_peak_run = max([rss0, mem1.get("VmRSS", 0)] + [int(s["server_rss_kb"]) for s in samples])
    attendee_minutes = client.attendee_seconds / 60.0
    pairing = histogram_names(after, PAIRING_PATTERN)
    pairing_p95, pairing_n = histogram_quantile(before, after, pairing[0], 0.95) if pairing else (None, 0)
    lag_p95, _ = histogram_quantile(before, after, LOOP_LAG, 0.95)
    loop_cpu = counter_delta(before, after, LOOP_CPU)
    return {
        "config": {k: v for k, v in asdict(config).items() if k != "database_url"},
        "attendees": config.attendees,
        "welcomed": len(client.welcome_seconds),
        "welcome_s": percentiles(client.welcome_seconds),
        "ready_to_matched_s": percentiles(client.matched_seconds),
        "unanswered_readies": len(client.unanswered_seconds),
        "unanswered_oldest_s": max(client.unanswered_seconds, default=None),
        "readies": client.readies,
        "meetings_ended": client.meetings_ended,
        "pairing_round_p95_s": pairing_p95,
        "pairing_round_metric": pairing[0] if pairing else None,
        "pairing_rounds": pairing_n,
        "wall_s": wall,
        "server_cpu_s": server_cpu,
        "server_cores": server_cpu / wall if wall else None,
        "server_cpu_s_per_attendee_minute": server_cpu / attendee_minutes if attendee_minutes else None,
        "server_loop_cores": loop_cpu / wall if loop_cpu is not None and wall else None,
        "server_loop_lag_p95_s": lag_p95,
        "server_rss_peak_mb": mem1.get("VmHWM", 0) / 1024,
        "server_rss_before_kb": rss0,
        "server_rss_kb_per_attendee": (rss_peak_run - rss0) / config.attendees,
        "server_idle_before_run": idle,
        "server_exit_code": exit_code,
        "client_cpu_s": client_cpu,
        "client_cores": client_cpu / wall if wall else None,
        "attendee_minutes": attendee_minutes,
        "load_average_start": list(load[0]),
        "load_average_end": list(load[1]),
        "load1_max": max([load[0][0], load[1][0]] + [s["load1"] for s in samples]),
        "cpu_cores": os.cpu_count(),
        "messages": dict(client.messages),
        "errors": dict(client.errors),
        "connect_failures": dict(client.connect_failures),
        "closed_early": client.closed_early,
        "timeline": samples,
    }


# --- the table -------------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _cores(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def _triple(p: dict[str, float | None]) -> str:
    return f"{_s(p['p50'])} / {_s(p['p95'])} / {_s(p['max'])}"


HEADER = (
    "attendees | db | welcome p50 / p95 / max s | ready→matched p50 / p95 / max s | pairing round p95 | "
    "server cores | server CPU s per attendee-min | server RSS MB (peak) | RSS KB per attendee | "
    "client cores | load avg 1 min (start → end)"
)


def table_row(r: dict[str, Any]) -> str:
    pairing = NOT_EXPOSED if r["pairing_round_metric"] is None else _s(r["pairing_round_p95_s"])
    per_min = r["server_cpu_s_per_attendee_minute"]
    return " | ".join(
        [
            str(r["attendees"]),
            r["config"]["database"],
            _triple(r["welcome_s"]),
            _triple(r["ready_to_matched_s"]),
            pairing,
            _cores(r["server_cores"]),
            "-" if per_min is None else f"{per_min:.4f}",
            f"{r['server_rss_peak_mb']:.0f}",
            f"{r['server_rss_kb_per_attendee']:.1f}",
            _cores(r["client_cores"]),
            f"{r['load_average_start'][0]:.2f} → {r['load_average_end'][0]:.2f}",
        ]
    )


def detail_line(r: dict[str, Any]) -> str:
    waiting = r["messages"].get("waiting", 0)
    lag = r["server_loop_lag_p95_s"]
    loop = r["server_loop_cores"]
    return (
        f"   {r['attendees']} ({r['config']['database']}): welcomed {r['welcomed']}/{r['attendees']}, "
        f"{r['ready_to_matched_s']['n']} matched of {r['readies']} readies "
        f"({r['unanswered_readies']} unanswered at the end, oldest {_s(r['unanswered_oldest_s'])} s), "
        f"{r['meetings_ended']} meeting ends; messages received {sum(r['messages'].values())} "
        f"({waiting} `waiting`); errors {r['errors'] or 'none'}; failed connects "
        f"{r['connect_failures'] or 'none'}; closed early {r['closed_early']}; event-loop thread "
        f"{'-' if loop is None else f'{loop:.2f}'} cores, loop lag p95 {_s(lag)} s; load max "
        f"{r['load1_max']:.2f} on {r['cpu_cores']} cores"
    )


# --- the command -----------------------------------------------------------------------------------------


def _env_list(name: str, default: str) -> list[str]:
    return [x.strip() for x in (os.environ.get(name) or default).split(",") if x.strip()]


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def main() -> None:
    sizes = [int(x) for x in _env_list("SPEEDMEET_BENCH_CONTROL_SIZES", "200,1000,2000,5000")]
    databases = _env_list("SPEEDMEET_BENCH_CONTROL_DATABASE", "sqlite")
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"SPEEDMEET_BENCH_CONTROL_DATABASE: unknown {sorted(unknown)}; sqlite or postgresql")
    seconds = _env_float("SPEEDMEET_BENCH_CONTROL_SECONDS", 90.0)
    ramp = _env_float("SPEEDMEET_BENCH_CONTROL_RAMP_SECONDS", 10.0)
    meeting = int(_env_float("SPEEDMEET_BENCH_CONTROL_MEETING_SECONDS", 60))
    files = raise_nofile_limit()
    print(
        f"{seconds:.0f} s per run from the first join, joins over {ramp:.0f} s, {meeting} s meetings, "
        f"open files {files}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    cluster = PostgresCluster() if "postgresql" in databases else None
    try:
        if cluster is not None:
            cluster.start()
        print(HEADER, flush=True)
        for database in databases:
            for size in sizes:
                url = cluster.database() if database == "postgresql" and cluster is not None else None
                config = RunConfig(size, seconds, ramp, meeting, database, url)
                result = asyncio.run(measure(config))
                results.append(result)
                print(table_row(result), flush=True)
                print(detail_line(result), flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        out = Path(
            os.environ.get("SPEEDMEET_BENCH_CONTROL_JSON")
            or OUT_DIR / f"control-{time.strftime('%Y%m%d-%H%M%S')}.json"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        print(f"raw figures: {out}", flush=True)


if __name__ == "__main__":
    main()
