"""The control-plane benchmark, run at a tiny size against a real server subprocess: every attendee is
welcomed, Ready is answered by `matched`, and the report has every figure of the table."""

from __future__ import annotations

import asyncio
import os
import pwd
from typing import Any

import pytest

from bench.bench_control import HEADER, NOT_EXPOSED, RunConfig, detail_line, measure, percentiles, table_row
from bench.control_server import PostgresCluster

ATTENDEES = 6


def _check(r: dict[str, Any], database: str) -> None:
    assert r["attendees"] == ATTENDEES
    assert r["welcomed"] == ATTENDEES
    assert r["connect_failures"] == {} and r["errors"] == {} and r["closed_early"] == 0
    welcome = r["welcome_s"]
    assert welcome["n"] == ATTENDEES
    assert 0 < welcome["p50"] <= welcome["p95"] <= welcome["max"] < 10
    matched = r["ready_to_matched_s"]
    # Six attendees pressing Ready within a second: three meetings, six `matched`.
    assert matched["n"] >= 2
    assert 0 <= matched["p50"] <= matched["p95"] <= matched["max"] < 10
    assert r["readies"] == ATTENDEES  # one Ready each; nobody's 60 s meeting ended within the run
    assert r["messages"]["welcome"] == ATTENDEES and r["messages"]["matched"] == matched["n"]
    assert r["server_cpu_s"] > 0 and 0 < r["server_cores"] < 64
    assert r["server_cpu_s_per_attendee_minute"] > 0
    assert 5 <= r["wall_s"] < 30
    assert 0 < r["attendee_minutes"] <= ATTENDEES * r["wall_s"] / 60
    assert r["server_rss_peak_mb"] > 10 and r["server_rss_kb_per_attendee"] >= 0
    assert r["client_cpu_s"] > 0 and r["client_cores"] >= 0
    assert len(r["load_average_end"]) == 3
    assert r["server_exit_code"] == 0  # stopped cleanly by SIGTERM
    assert r["config"]["database"] == database and "database_url" not in r["config"]
    assert r["timeline"] and r["timeline"][-1]["connected"] == ATTENDEES
    row = table_row(r).split(" | ")
    assert len(row) == len(HEADER.split(" | "))
    assert row[0] == str(ATTENDEES) and row[1] == database
    # Neither this server nor its predecessors time the pairing round on /metrics.
    assert row[4] == (NOT_EXPOSED if r["pairing_round_metric"] is None else row[4])
    assert f"welcomed {ATTENDEES}/{ATTENDEES}" in detail_line(r)


def _config(database: str = "sqlite", url: str | None = None) -> RunConfig:
    return RunConfig(
        attendees=ATTENDEES, seconds=6.0, ramp_seconds=1.0, database=database, database_url=url,
        idle_wait_seconds=5.0,
    )  # fmt: skip


async def test_control_bench_on_sqlite() -> None:
    _check(await measure(_config()), "sqlite")


async def test_control_bench_on_postgresql() -> None:
    if PostgresCluster.find_bindir() is None:
        pytest.skip("PostgreSQL server binaries (pg_ctl, initdb) are missing: apt-get install postgresql")
    pytest.importorskip("asyncpg", reason="asyncpg (the PostgreSQL driver) is not installed")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PostgresCluster.SERVER_USER)
        except KeyError:
            pytest.skip("no 'postgres' user to run PostgreSQL as (it refuses to run as root)")
    cluster = PostgresCluster()
    try:
        await asyncio.to_thread(cluster.start)
        url = await asyncio.to_thread(cluster.database)
        _check(await measure(_config("postgresql", url)), "postgresql")
    finally:
        await asyncio.to_thread(cluster.stop)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {"p50": 50.0, "p95": 95.0, "max": 100.0, "n": 100}
    assert percentiles([3.0]) == {"p50": 3.0, "p95": 3.0, "max": 3.0, "n": 1}
    assert percentiles([]) == {"p50": None, "p95": None, "max": None, "n": 0}
