"""The suite's fairness machinery: children pinned before their imports, CPU/wall flags, and a
report that goes where --output says and nowhere else (no timing here: a 32 x 32 sgemm)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the repo root holds benchmarks/

from benchmarks.common import child_environment  # noqa: E402
from benchmarks.pinning import over_cores, parse_cpus, thread_environment  # noqa: E402

from benchmarks import report, run  # noqa: E402

TINY_SGEMM = {"workload": "sgemm", "n": 32, "reps": 2}
FIRST_CPU = min(os.sched_getaffinity(0))


def _env(cpus: list[int]) -> dict[str, str]:
    env = child_environment(cpus, unset_openblas_coretype=False)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO)])  # this checkout's copy
    return env


def test_a_child_pins_itself_before_it_imports_a_library():
    """Started without the parent's exec-time mask, the child pins itself from $BENCH_CORES
    before numpy is imported, and stays pinned to the end."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.child", json.dumps(TINY_SGEMM)],
        cwd=REPO,
        env=_env([FIRST_CPU]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH-RESULT "))
    result = json.loads(line.removeprefix("BENCH-RESULT "))
    pinning = result["pinning"]
    assert pinning["requested"] == [FIRST_CPU]
    assert pinning["affinity"] == [FIRST_CPU]  # read back right after pinning
    assert pinning["loaded"] == []  # no library was imported before it
    assert pinning["affinity_at_end"] == [FIRST_CPU]
    assert len(result["cpu_times"]) == len(result["times"]) == 2


def test_the_parent_pins_the_child_and_sizes_its_thread_pools():
    result = run.run_child(TINY_SGEMM, [FIRST_CPU], _env([FIRST_CPU]), timeout=120)
    assert result["pinning"]["affinity"] == [FIRST_CPU]
    blas = [b for b in result["blas"] if "num_threads" in b]
    assert blas and all(b["num_threads"] == 1 for b in blas)  # OPENBLAS_NUM_THREADS=1 held


def test_thread_environment_matches_the_cores():
    env = thread_environment([0, 1], {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false --foo"})
    assert env["BENCH_CORES"] == "0,1"
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["BENCH_THREADS"] == "2"
    assert env["XLA_FLAGS"] == "--foo"  # XLA's pool may use both cores
    one = thread_environment([3], {})
    assert one["MKL_NUM_THREADS"] == "1"
    assert one["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=false"


@pytest.mark.parametrize("text", ["", "a,b", "-1"])
def test_bad_core_lists_are_refused(text):
    with pytest.raises(ValueError, match="BENCH_CORES"):
        parse_cpus(text)


@pytest.mark.parametrize(
    ("ratio", "cores", "flagged"),
    [(1.0, 1, False), (1.09, 1, False), (1.11, 1, True), (1.95, 1, True), (2.15, 2, False),
     (2.3, 2, True), (None, 1, False)],
)  # fmt: skip
def test_cpu_over_wall_is_flagged_past_ten_percent_over_the_cores(ratio, cores, flagged):
    assert over_cores(ratio, cores) is flagged


def test_a_short_region_is_not_flagged_for_what_the_cpu_clock_cannot_resolve():
    # 2.45x on two cores over 5 ms is 1.3 ms of CPU past the limit: less than a scheduler tick
    assert over_cores(2.45, 2, wall=0.005) is False
    assert over_cores(2.45, 2, wall=0.5) is True
    assert over_cores(1.95, 1, wall=0.040) is True  # a second thread's work over a 40 ms region
    short = {"times": [0.002, 0.002], "cpu_per_wall": 2.45, "pinning": {"affinity": [0, 1]}}
    long = {**short, "times": [0.25, 0.25]}
    assert report.flagged(_task([0, 1], {"numpy": [short]})) == []
    assert report.cpu_cell([short], 2) == "2.45"
    (flag,) = report.flagged(_task([0, 1], {"numpy": [short, long]}))
    assert "round 2" in flag and "2.45" in flag
    assert report.cpu_cell([short, long], 2).startswith("**2.45 (max 2.45")


def _task(cpus, results):
    return run.Task("mlp1", "1. MLP", {"workload": "mlp"}, list(results), 1, cpus=cpus,
                    results=results)  # fmt: skip


def test_report_flags_a_row_that_used_two_cores_when_given_one():
    pinned = {"affinity": [0], "loaded": [], "process_cpu_per_wall": 0.9}
    honest = {"times": [1.0, 1.0], "cpu_times": [0.99, 1.0], "pinning": pinned}
    greedy = {"times": [1.0, 1.0], "cpu_times": [1.9, 2.0], "pinning": pinned}
    task = _task([0], {"chainrule": [honest], "jax": [greedy]})
    flags = report.flagged(task)
    assert len(flags) == 1 and "jax" in flags[0] and "1.95" in flags[0]
    assert report.cpu_cell([greedy], 1).startswith("**1.95")
    assert report.cpu_cell([honest], 1) == "0.99"
    # the same numbers on two cores are within the limit
    assert report.flagged(_task([0, 1], {"jax": [{**greedy, "pinning": {
        **pinned, "affinity": [0, 1]}}]})) == []  # fmt: skip


def test_report_flags_a_child_that_was_not_pinned_as_asked():
    loose = {"times": [1.0], "cpu_times": [1.0]}
    wrong = {**loose, "pinning": {"affinity": [0, 1], "loaded": []}}
    late = {**loose, "pinning": {"affinity": [0], "loaded": ["numpy"]}}
    flags = report.flagged(_task([0], {"torch": [wrong], "numpy": [late]}))
    assert any("affinity [0, 1] != [0]" in f for f in flags)
    assert any("imported before pinning" in f for f in flags)


def test_the_default_output_is_a_fresh_file_under_benchmarks_results():
    args = run.parse_args(["--cores", "1"])
    assert args.output.parent == REPO / "benchmarks" / "results"
    assert args.output.suffix == ".md" and args.json == args.output.with_suffix(".json")
    chosen = run.parse_args(["--cores", "1", "--output", "/tmp/x/report.md"])
    assert chosen.output == Path("/tmp/x/report.md")
    assert chosen.json == REPO / "benchmarks" / "results" / "report.json"  # not beside the docs


def test_too_many_cores_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.parse_args(["--cores", str(len(os.sched_getaffinity(0)) + 1)])
    assert exit_info.value.code == 2
    assert "--cores" in capsys.readouterr().err


def test_a_run_writes_where_output_says_and_leaves_the_docs_alone(tmp_path, monkeypatch):
    docs = REPO / "docs" / "benchmarks.md"
    before = docs.read_bytes()
    monkeypatch.setattr(run, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(
        run, "plan", lambda quick: [run.Task("sgemm", "Peak sgemm", dict(TINY_SGEMM), ["numpy"], 1)]
    )
    assert run.main(["--cores", "1"]) == 0
    (written,) = (tmp_path / "results").glob("report-*.md")
    text = written.read_text()
    assert "## At 1 core" in text and "peak sgemm (float32 matmul) at 1 core" in text
    raw = json.loads(written.with_suffix(".json").read_text())
    assert raw["tasks"][0]["results"]["numpy"][0]["pinning"]["loaded"] == []
    assert docs.read_bytes() == before
    mine = tmp_path / "elsewhere" / "mine.md"
    assert run.main(["--cores", "1", "--output", str(mine)]) == 0
    assert mine.exists() and (tmp_path / "results" / "mine.json").exists()
    assert docs.read_bytes() == before


def _mlp_task(chainrule: list[float], numpy: list[float]):
    rounds = {"chainrule": chainrule, "numpy": numpy}
    results = {name: [{"times": [t, t, t]} for t in times] for name, times in rounds.items()}
    return run.Task("mlp1", "1. MLP", {"workload": "mlp"}, list(results), len(chainrule),
                    results=results)  # fmt: skip


def test_the_paired_ratio_is_the_median_of_each_rounds_ratio():
    # the medians over rounds are equal (2.0 and 2.0); within each round chainrule is slower
    task = _mlp_task([1.0, 2.0, 2.2], [0.9, 2.0, 2.0])
    assert report.paired_ratio(task, "numpy") == pytest.approx(1.1)
    cell = report._same_run_ratio({"mlp1": task}, "mlp1", "numpy")
    assert cell == "1.000x (paired 1.100x)"
    assert report.paired_ratio(_mlp_task([1.0, 2.0], [1.0, 1.0]), "numpy") is None  # 2 rounds


def test_the_median_interval_is_the_order_statistics_that_reach_the_confidence():
    # n = 5: only min and max bracket the median with >= 90% (1 - 2/32); n = 21: the 7th and
    # the 15th (1 - 2 P(Bin(21, 1/2) <= 6) = 0.92; the 8th and 14th give 0.87)
    assert report.median_interval([5.0, 1.0, 4.0, 2.0, 3.0]) == (1.0, 5.0)
    assert report.median_interval([float(v) for v in range(21, 0, -1)]) == (7.0, 15.0)
    assert report.median_interval([1.0, 2.0, 3.0, 4.0]) is None  # 4 values reach 87.5% at most
    assert report.median_interval([1.0] * 3, confidence=0.5) == (1.0, 1.0)


def test_the_median_interval_covers_a_skewed_median_as_often_as_it_says():
    rng = np.random.default_rng(0)
    trials = rng.exponential(size=(2000, 21))  # skewed, as a shared host's noise is
    covered = [
        low <= np.log(2) <= high for low, high in map(report.median_interval, trials.tolist())
    ]
    assert 0.9 <= np.mean(covered) <= 0.95  # exactly 0.922 for n = 21


def test_a_headline_ratio_carries_its_interval_from_five_rounds_on():
    task = _mlp_task([1.1, 1.2, 1.0, 1.05, 1.3], [1.0] * 5)
    cell = report._same_run_ratio({"mlp1": task}, "mlp1", "numpy")
    assert cell == "1.100x (paired 1.100x, 90% CI 1.000-1.300)"


def test_render_rebuilds_a_report_from_the_saved_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        run, "plan", lambda quick: [run.Task("sgemm", "Peak sgemm", dict(TINY_SGEMM), ["numpy"], 1)]
    )
    first, raw, again = tmp_path / "first.md", tmp_path / "r.json", tmp_path / "again.md"
    assert run.main(["--cores", "1", "--output", str(first), "--json", str(raw)]) == 0
    assert run.main(["--render", str(raw), "--output", str(again)]) == 0
    assert again.read_text() == first.read_text()
    (tmp_path / "broken.json").write_text("{not json")
    capsys.readouterr()
    assert run.main(["--render", str(tmp_path / "broken.json"), "--output", str(again)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.json" in err[0]
    assert again.read_text() == first.read_text()  # the earlier report is untouched


def test_cpu_per_step_is_the_rounds_sum_not_a_median_of_calls():
    """Linux credits a second thread's CPU in lumps at scheduler ticks: per call, two of three
    readings here miss it and one holds all of it. The median of calls said 1 ms a step; the
    round's sum says 2 ms, as two busy threads on a 1 ms step use."""
    lumpy = {"times": [1e-3] * 3, "cpu_times": [1e-3, 1e-3, 4e-3]}
    assert report.median_cpu([lumpy]) == pytest.approx(2e-3)
    assert report.median_cpu([lumpy, {"times": [1e-3], "cpu_times": [1e-3]}]) == pytest.approx(
        1.5e-3
    )


def test_every_child_gets_the_same_allocator_setting():
    """chainrule sets glibc to keep freed memory (as its CLI does); every system's child gets
    the same through the environment, not chainrule's alone."""
    env = child_environment([FIRST_CPU], unset_openblas_coretype=False)
    assert env["MALLOC_MMAP_THRESHOLD_"] == env["MALLOC_TRIM_THRESHOLD_"] == str(256 * 2**20)


def test_a_round_with_a_zero_time_is_left_out_of_the_ratios():
    task = _mlp_task([1.0, 1.2, 1.1], [1.0, 0.0, 1.0])
    assert report.round_ratios(task, "numpy") == [1.0, pytest.approx(1.1)]


def test_the_busy_warning_reads_the_load_before_the_suite_started():
    facts = {
        "date": "d", "cpu": "c", "cores_visible": 2, "cpu_sets": [[0]], "command": "run.py",
        "openblas_env": {}, "unset_openblas_coretype": False, "quick": False,
        "python": "3", "platform": "p", "versions": {}, "suite_seconds": 1.0,
        "load_average_at_end": (1.0, 1.0, 1.0),  # the suite's own last child
    }  # fmt: skip
    quiet = report._header({**facts, "load_average_at_start": (0.2, 0.2, 0.2)}, {1: []}, {})
    shared = report._header({**facts, "load_average_at_start": (0.84, 0.5, 0.5)}, {1: []}, {})
    assert "shared the machine" not in quiet
    assert "load average 0.84 before the suite started" in shared
    # a run that measured the cores busy as it started reads that, not the lagging load average
    after_a_run = {**facts, "load_average_at_start": (1.28, 1.2, 1.0)}
    assert "shared" not in report._header({**after_a_run, "busy_cores_at_start": 0.03}, {1: []}, {})
    busy = report._header({**after_a_run, "busy_cores_at_start": 0.97}, {1: []}, {})
    assert "0.97 cores busy over the 2 s before the suite started" in busy


def test_busy_cores_counts_work_running_beside_it():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert run.busy_cores(seconds=1.0) >= 0.7
    finally:
        spinner.kill()
        spinner.wait()


def test_the_digits_table_gives_seconds_per_epoch_beside_time_to_target():
    """Each system shuffles its own way, so the epochs to the target differ by chance: the
    table divides each fit by its epochs too."""

    def result(seconds: float, epochs: int) -> dict:
        return {"times": [seconds], "epochs": epochs, "accuracy": 0.95, "process_wall": 2.0}

    results = {"chainrule": [result(1.2, 12)], "torch": [result(1.3, 13)]}
    task = run.Task("digits", "6. digits", {"workload": "digits", "target": 0.95,
                    "max_epochs": 60}, list(results), 1, results=results)  # fmt: skip
    table = report._digits_table(task)
    assert "| s per epoch |" in table
    assert "| chainrule | 1.200 | 1.00x | 0.100 | 12 |" in table
    assert "| torch | 1.300 | 1.08x | 0.100 | 13 |" in table


@pytest.mark.parametrize("n", range(1, 8))
def test_round_order_balances_positions_and_neighbours_over_a_cycle(n):
    """Every system at every position, and right after every other, equally often: what one
    child leaves behind for the next falls on no system more than another."""
    systems = [f"s{k}" for k in range(n)]
    cycle = 2 * n if n % 2 else n
    rows = [run.round_order(systems, r) for r in range(cycle)]
    assert all(sorted(row) == systems for row in rows)
    positions = Counter((system, i) for row in rows for i, system in enumerate(row))
    assert len(positions) == n * n and len(set(positions.values())) == 1
    neighbours = Counter(pair for row in rows for pair in zip(row, row[1:]))
    assert len(neighbours) == n * (n - 1) and len(set(neighbours.values())) <= 1
    assert run.round_order(systems, cycle) == rows[0]  # the next cycle repeats it
