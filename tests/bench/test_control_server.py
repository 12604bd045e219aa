"""The benchmark's view of a server: /proc figures and histograms from two /metrics scrapes."""

from __future__ import annotations

import os
import resource

from bench.control_server import (
    counter_delta,
    cpu_seconds,
    histogram_names,
    histogram_quantile,
    memory_kb,
    raise_nofile_limit,
)


def _bucket(name: str, le: str, labels: tuple[tuple[str, str], ...] = ()) -> tuple[str, tuple]:
    return (f"{name}_bucket", tuple(sorted((*labels, ("le", le)))))


def test_proc_figures_of_this_process() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    assert 0 < cpu_seconds(os.getpid()) <= usage.ru_utime + usage.ru_stime + 0.1
    mem = memory_kb(os.getpid())
    assert 0 < mem["VmRSS"] <= mem["VmHWM"]


def test_open_file_limit_is_raised_to_the_hard_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raise_nofile_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if hard != resource.RLIM_INFINITY:
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard


def test_histogram_quantile_of_what_was_observed_between_scrapes() -> None:
    name = "speedmeet_pairing_round_seconds"
    before = {_bucket(name, "0.01"): 100.0, _bucket(name, "0.1"): 100.0, _bucket(name, "+Inf"): 100.0}
    # Since the first scrape: 80 rounds under 10 ms, 15 under 100 ms, 5 slower.
    after = {_bucket(name, "0.01"): 180.0, _bucket(name, "0.1"): 195.0, _bucket(name, "+Inf"): 200.0}
    assert histogram_quantile(before, after, name, 0.5) == (0.01, 100)
    assert histogram_quantile(before, after, name, 0.95) == (0.1, 100)
    assert histogram_quantile(before, after, name, 0.99) == (float("inf"), 100)
    assert histogram_quantile(after, after, name, 0.95) == (None, 0)  # nothing observed in between
    assert histogram_quantile(before, after, "speedmeet_other_seconds", 0.95) == (None, 0)
    assert histogram_names(after, r"pairing") == [name]


def test_histogram_quantile_sums_labels() -> None:
    name = "speedmeet_x_seconds"
    after = {
        _bucket(name, "1", (("room", "a"),)): 1.0,
        _bucket(name, "+Inf", (("room", "a"),)): 1.0,
        _bucket(name, "1", (("room", "b"),)): 0.0,
        _bucket(name, "+Inf", (("room", "b"),)): 3.0,
    }
    assert histogram_quantile({}, after, name, 0.5) == (float("inf"), 4)
    assert histogram_quantile({}, after, name, 0.25) == (1.0, 4)


def test_counter_delta() -> None:
    assert counter_delta({("c_total", ()): 2.0}, {("c_total", ()): 5.5}, "c_total") == 3.5
    assert counter_delta({}, {}, "c_total") is None
