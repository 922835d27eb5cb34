"""The benchmark harness's QA findings of session 51: numbers that misled (a child moved off its
cores and not flagged, memory spans that held a library's imports, zeros dropped from a median,
MB that were MiB), a report of an interrupted run, private report files, orphaned children on
SIGTERM, and options of ab.py, distributed.py and instructions.py that were not checked.

No benchmark runs here: report functions get hand-made results, the commands fake their children.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the repo root holds benchmarks/

from benchmarks.common import child_environment  # noqa: E402

from benchmarks import ab, instructions, report, run  # noqa: E402

MiB = 2**20


def _task(key: str, results: dict, spec: dict | None = None, cpus=(0,)) -> run.Task:
    systems = list(results)
    return run.Task(key, f"title {key}", spec or {}, systems, 1, results=results, cpus=list(cpus))


def _pinned(at_end: list[int]) -> dict:
    return {"requested": [0], "affinity": [0], "loaded": [], "affinity_at_end": at_end,
            "threads_at_end": 1, "process_cpu_per_wall": 0.9}  # fmt: skip


# -- 1. a child that leaves its cores -----------------------------------------------------------


def test_a_child_that_a_runtime_moved_off_its_cores_is_flagged():
    moved = {"times": [0.01], "cpu_times": [0.01], "pinning": _pinned([1]), "process_wall": 1.0}
    stayed = {**moved, "pinning": _pinned([0])}
    task = _task("moons", {"torch": [moved], "chainrule": [stayed]})
    (line,) = report.flagged(task)
    assert "torch, round 1" in line and "left its cores" in line and "[1]" in line
    assert "None: every child ran on the CPUs asked" not in report._flags([task])


def test_children_run_without_variables_that_bind_threads_elsewhere(monkeypatch):
    binding = ("GOMP_CPU_AFFINITY", "OMP_PLACES", "OMP_PROC_BIND", "KMP_AFFINITY")
    for name in binding:
        monkeypatch.setenv(name, "1")
    env = child_environment([0], unset_openblas_coretype=False)
    assert not set(binding) & set(env)
    assert env["OMP_NUM_THREADS"] == "1"  # the pools are still sized


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_child_started_by_hand_stays_on_its_cores_under_gomp_cpu_affinity():
    pytest.importorskip("torch")  # torch loads libgomp, which obeys GOMP_CPU_AFFINITY
    first, other = sorted(os.sched_getaffinity(0))[:2]
    code = ("from benchmarks.pinning import pin_from_environment; pin_from_environment(); "
            "import os, torch; torch.ones(4) @ torch.ones(4); "
            "print(sorted(os.sched_getaffinity(0)))")  # fmt: skip
    env = dict(os.environ, BENCH_CORES=str(first), GOMP_CPU_AFFINITY=str(other))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.stdout.split("\n")[-2] == f"[{first}]", done.stderr[-500:]


# -- 2. the memory span holds the model, not a library's imports --------------------------------

_SPAN = """
import json, sys, tracemalloc, types
sys.path[:0] = [{repo!r}, {src!r}]
from benchmarks.workloads import mlp
seen = {{}}
def start():
    seen["before"] = set(sys.modules)
    tracemalloc.start()
def peak():
    seen["loaded"] = sorted(set(sys.modules) - seen["before"])
    return tracemalloc.get_traced_memory()
mlp.tracemalloc = types.SimpleNamespace(start=start, get_traced_memory=peak, stop=tracemalloc.stop)
mlp.measure_memory({system!r}, [4, 3, 2], 2)
print(json.dumps(seen["loaded"]))
"""


@pytest.mark.parametrize("system", ["chainrule", "numpy", "sklearn"])
def test_no_module_loads_inside_the_traced_memory_span(system):
    if system == "sklearn":
        pytest.importorskip("sklearn")
    code = _SPAN.format(repo=str(REPO), src=str(REPO / "src"), system=system)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-800:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert loaded == [], f"{system}: imported inside the traced span: {loaded}"


# -- 3. no report of an interrupted run ---------------------------------------------------------

FACTS = {
    "date": "2025-01-01T00:00:00", "cpu": "test CPU", "cores_visible": 2,
    "load_average_at_start": [0.0, 0.0, 0.0], "load_average_at_end": [0.0, 0.0, 0.0],
    "busy_cores_at_start": 0.0, "python": "3.11", "platform": "Linux", "cpu_sets": [[0]],
    "command": "python benchmarks/run.py --quick", "openblas_env": {},
    "unset_openblas_coretype": False, "quick": True, "versions": {}, "suite_seconds": 1.0,
}  # fmt: skip


def test_render_refuses_an_interrupted_run_in_one_line(tmp_path, capsys):
    task = _task("sgemm", {"numpy": [{"times": [0.01], "gflops": 1.0}]})
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps({"facts": {**FACTS, "interrupted": True}, "tasks": [task.__dict__]}))
    out = tmp_path / "r.md"
    assert run.main(["--render", str(raw), "--output", str(out), "--cores", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err and str(raw) in err
    assert not out.exists()
    raw.write_text(json.dumps({"facts": FACTS, "tasks": [task.__dict__]}))  # a whole run renders
    assert run.main(["--render", str(raw), "--output", str(out), "--cores", "1"]) == 0


# -- 4. a report keeps the mode a plain open() gives --------------------------------------------


def test_a_written_report_has_the_mode_open_would_give(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.md"
        run._write(fresh, "text")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "kept.md"
        kept.write_text("old")
        kept.chmod(0o640)
        run._write(kept, "new")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"
    finally:
        os.umask(umask)


# -- 5. memory: zeros count, one format, MiB ----------------------------------------------------


def _chain(growths: dict[str, list[int]]) -> run.Task:
    spec = {"n_ops": 1000}
    results = {s: [{"times": [0.01], "rss_growth": g} for g in gs] for s, gs in growths.items()}
    return _task("chain_1000", results, spec)


def test_a_round_that_grew_by_zero_counts_in_the_median():
    task = _chain({"chainrule": [0, 0, 3 * MiB]})
    assert report._rss_growth(task, "chainrule") == 0.0


def test_small_and_zero_growth_read_alike_and_memory_is_labelled_mib():
    table = report._chain_table([_chain({"chainrule": [0], "torch": [MiB // 3]})])
    assert table.count("< 1 MiB") == 2 and " MB" not in table
    assert report._chain_table([_chain({"chainrule": [5 * MiB]})]).count("5 MiB") == 1
    memory = _task("mlp2_memory", {"numpy": [{"traced_peak": 3 * MiB, "rss_delta": MiB}]})
    assert "tracemalloc peak MiB" in report._memory_table(memory)


# -- 9. SIGTERM stops the running child; memory progress says what it measured ------------------

_TERM = """
import os, signal, subprocess, sys, threading
sys.path.insert(0, {repo!r})
from benchmarks import run
def run_task(task, *_):
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    with open({pidfile!r}, "w") as out:
        subprocess.run([sys.executable, "-c",
                        "import os, time; print(os.getpid(), flush=True); time.sleep(60)"],
                       stdout=out)
run.run_task = run_task
run.machine_facts = lambda *_: {{}}
sys.exit(run.main(["--only", "sgemm", "--cores", "1", "--output", {out!r}, "--json", {raw!r}]))
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_stops_the_running_child_and_keeps_what_was_measured(tmp_path):
    pidfile, raw = tmp_path / "child.pid", tmp_path / "raw.json"
    code = _TERM.format(repo=str(REPO), pidfile=str(pidfile), out=str(tmp_path / "r.md"),
                        raw=str(raw))  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    child = int(pidfile.read_text().split()[0])
    try:
        assert not _alive(child), "the child ran on, orphaned, after run.py got SIGTERM"
        assert done.returncode == 128 + signal.SIGTERM, done.stderr[-500:]
        assert json.loads(raw.read_text())["facts"]["interrupted"] is True
        assert "interrupted after" in done.stderr and "Traceback" not in done.stderr
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)  # the orphan this test started, by its id


def test_a_memory_task_progress_line_says_what_it_measured(capsys):
    task = _task("mlp2_memory", {})
    run._progress(task, 0, "numpy", {"traced_peak": 3 * MiB, "rss_delta": 2 * MiB, "how": "x"})
    line = capsys.readouterr().err
    assert "tracemalloc peak 3.0 MiB" in line and "peak RSS growth 2.0 MiB" in line
    assert "done" not in line


# -- 6. ab.py: options checked, a checkout root as --new, pinning flags -------------------------


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--cores", "1,2"], "--cores"),
        (["--rounds", "0"], "--rounds"),
        (["--rounds", "-3"], "--rounds"),
        (["--reps", "0"], "--reps"),
        (["--timeout", "0"], "--timeout"),
    ],
)
def test_ab_refuses_a_bad_option_in_one_line(argv, option, capsys):
    with pytest.raises(SystemExit) as stop:
        ab.parse_args(["--old", "HEAD", *argv])
    assert stop.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert ": error: " in last and option in last


def test_ab_takes_a_checkout_root_as_new_and_lists_flagged_children(monkeypatch, capsys):
    def fake_child(spec, cpus, env, timeout):
        moved = spec["system"] == "numpy"
        return {"times": [0.01], "cpu_times": [0.01], "process_wall": 1.0,
                "pinning": _pinned([1] if moved else list(cpus))}  # fmt: skip

    monkeypatch.setattr(ab, "run_child", fake_child)
    status = ab.main(["--old", str(REPO / "src"), "--new", str(REPO), "--rounds", "1",
                      "--workload", "mlp1"])  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    assert "new/old wall 1.000" in out
    flags = [line for line in out.splitlines() if "left its cores" in line]
    assert len(flags) == 1 and "numpy, round 1" in flags[0]


# -- 7. distributed.py: options checked ---------------------------------------------------------


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--ranks", "a"], "--ranks"),
        (["--ranks", "0"], "--ranks"),
        (["--ranks", "1,-2"], "--ranks"),
        (["--epochs", "0"], "--epochs"),
        (["--steps", "-1"], "--steps"),
        (["--repeats", "0"], "--repeats"),
        (["--megabytes", "x"], "--megabytes"),
        (["--only", "foo"], "--only"),
        (["--only", ","], "--only"),
        (["--timeout", "-5"], "--timeout"),
    ],
)
def test_distributed_refuses_a_bad_option_in_one_line(argv, option, capsys):
    from benchmarks import distributed

    with pytest.raises(SystemExit) as stop:  # parsed alone: the old code ran mpiexec on them
        distributed.parse_args(argv)
    assert stop.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert ": error: " in last and option in last


def test_distributed_says_a_bad_option_in_one_line_not_a_traceback():
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "distributed.py"), "--ranks",
                           "a"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "distributed.py: error: argument --ranks: 'a' is not a whole number"
    )


def test_distributed_options_parse_to_what_the_child_needs():
    from benchmarks import distributed

    args = distributed.parse_args(["--ranks", "1,2", "--only", "digits,overlap"])
    assert args.ranks == [1, 2] and args.only == ["digits", "overlap"]
    assert distributed.parse_args([]).megabytes == [1, 100]


# -- 8. instructions.py takes a checkout root ---------------------------------------------------


def test_instructions_takes_a_checkout_root_as_its_src(monkeypatch, capsys):
    counted = []
    monkeypatch.setattr(instructions.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(
        instructions, "per_unit", lambda what, system, src: counted.append(src) or 1234
    )
    assert instructions.main(["--src", str(REPO), "--what", "chain"]) == 0
    assert counted == [(REPO / "src").resolve()]
    assert capsys.readouterr().out == "chain: 1,234 instructions per op\n"


def test_the_fixes_are_described_where_users_read():
    readme = (REPO / "benchmarks" / "README.md").read_text()
    assert "GOMP_CPU_AFFINITY" in readme and "SIGTERM" in readme
    assert "CPU client" in report.METHOD and "MiB (2^20 bytes)" in report.METHOD
    assert report.METHOD in (REPO / "docs" / "benchmarks.md").read_text()  # one method text


def test_an_infinite_timeout_is_refused():
    import argparse

    from benchmarks.common import positive_float

    with pytest.raises(argparse.ArgumentTypeError, match="finite"):
        positive_float("inf")
    assert positive_float("2.5") == 2.5
