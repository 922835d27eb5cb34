"""The benchmark suite's audit of session 59: what a report measured and whether it says so.

run.py's children imported whichever chainrule was installed, not this checkout's; --json and
--output naming one file lost the raw results; a starved round passed as fair; workloads 3-4
timed one system's op list and not another's, and JAX's forward was read before it ran; moons
gave micrograd no warm-up; diagram.py met a CPU it may not use with tracebacks; and a report
with no ratio to give printed an empty table. Digits made its split with scikit-learn in every
child, and its chainrule-cli row read as one of the shared setup.

No timing is asserted: report functions get hand-made results, a clock is faked, and the
commands run only as far as their refusals.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the repo root holds benchmarks/

from benchmarks.common import child_environment  # noqa: E402
from benchmarks.workloads import chain, digits, moons  # noqa: E402
from benchmarks.workloads.mlp import gemm_flops  # noqa: E402

from benchmarks import report, run  # noqa: E402

FIRST_CPU = min(os.sched_getaffinity(0))
FACTS = {
    "date": "2025-01-01T00:00:00", "cpu": "test CPU", "cores_visible": 2,
    "load_average_at_start": [0.0, 0.0, 0.0], "load_average_at_end": [0.0, 0.0, 0.0],
    "busy_cores_at_start": 0.0, "python": "3.11", "platform": "Linux", "cpu_sets": [[0]],
    "command": "python benchmarks/run.py --quick", "openblas_env": {},
    "unset_openblas_coretype": False, "quick": True, "versions": {}, "suite_seconds": 1.0,
}  # fmt: skip


def _task(key: str, results: dict, spec: dict | None = None, cpus=(0,)) -> run.Task:
    return run.Task(key, f"title {key}", spec or {}, list(results), 1, results=results,
                    cpus=list(cpus))  # fmt: skip


# -- 1. the children measure this checkout's chainrule, and the header says which -----------------


def test_a_checkout_whose_chainrule_the_children_cannot_import_measures_nothing(tmp_path):
    """A copy of the suite beside a broken chainrule: its children imported the installed copy
    (an editable install of another checkout) and reported that one's timings as this one's."""
    shutil.copytree(REPO / "benchmarks", tmp_path / "benchmarks",
                    ignore=shutil.ignore_patterns("results", "__pycache__"))  # fmt: skip
    package = tmp_path / "src" / "chainrule"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('this copy is broken')\n")
    done = subprocess.run(
        [sys.executable, str(tmp_path / "benchmarks" / "run.py"), "--quick", "--only", "sgemm",
         "--cores", "1", "--output", str(tmp_path / "r.md"), "--json", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-800:]
    (line,) = done.stderr.strip().splitlines()
    assert "this copy is broken" in line and str(tmp_path / "src") in line
    assert not (tmp_path / "r.md").exists() and not (tmp_path / "r.json").exists()


def test_every_child_gets_this_checkouts_src_first_and_its_tasks_environment(monkeypatch):
    seen = []
    monkeypatch.setattr(run, "run_child", lambda spec, cpus, env, timeout: seen.append(env) or {})
    tiny = next(t for t in run.plan(quick=True) if t.key == "tiny")
    mlp1 = next(t for t in run.plan(quick=True) if t.key == "mlp1")
    for task in (tiny, mlp1):
        run.run_task(replace(task, rounds=1, systems=["numpy"], cpus=[FIRST_CPU]), False, 1)
    for env in seen:
        assert env["PYTHONPATH"].split(os.pathsep)[0] == str(REPO / "src")
    # workloads 3-4 only: OpenBLAS's idle worker sleeps instead of spinning on a second core
    assert seen[0]["OPENBLAS_THREAD_TIMEOUT"] == "4"
    assert seen[1].get("OPENBLAS_THREAD_TIMEOUT") == os.environ.get("OPENBLAS_THREAD_TIMEOUT")
    chains = [t for t in run.plan(quick=True) if t.key.startswith("chain_")]
    assert chains and all(t.env == run.CHAIN_ENV for t in chains)


def test_the_header_records_the_chainrule_measured_and_the_revision():
    found = run.measured_chainrule(child_environment([FIRST_CPU], False))
    assert Path(found["path"]) == REPO / "src" / "chainrule"
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True)  # fmt: skip
    if head.returncode == 0:
        assert found["revision"] == head.stdout.strip() and isinstance(found["dirty"], bool)
    facts = {**FACTS, "chainrule": {"path": "/x/src/chainrule", "revision": "a" * 40,
                                    "dirty": True}}  # fmt: skip
    header = report._header(facts, {}, {})
    assert "| chainrule measured" in header and "`/x/src/chainrule`, git aaaaaaaaaaaa" in header
    assert "dirty" in header
    assert "not recorded" in report._header(FACTS, {}, {})  # an older run's raw results


# -- 3. the report never replaces the raw results ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--output", "same.md", "--json", "same.md"], "--json and --output both name same.md"),
        (["--output", "same.md", "--json", "./sub/../same.md"], "--json and --output both name"),
        (["--render", "raw.json", "--output", "raw.json"], "--render and --output both name raw"),
    ],
)
def test_one_file_for_the_report_and_the_raw_results_is_refused(
    tmp_path, monkeypatch, capsys, args, says
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "raw.json").write_text("{}")
    with pytest.raises(SystemExit) as stop:
        run.parse_args(["--cores", "1", *args])
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert says in error
    assert (tmp_path / "raw.json").read_text() == "{}"
    assert run.parse_args(["--cores", "1", "--render", "raw.json", "--output", "r.md"]).render


# -- 4. a round that waited for a core is flagged, as one that used too many is ------------------


def _round(cpu_per_wall: float, wall: float) -> dict:
    return {"times": [wall], "cpu_times": [cpu_per_wall * wall]}


def test_a_starved_round_is_flagged_and_bold():
    task = _task("mlp1", {"chainrule": [_round(1.0, 1.0)], "numpy": [_round(0.45, 1.0)]})
    (line,) = report.flagged(task)
    assert "numpy, round 1" in line and "0.45" in line and "waited for a core" in line
    assert "waited for a core" in report.cpu_cell(task.results["numpy"], 1)
    assert report.cpu_cell(task.results["chainrule"], 1) == "1.00"
    assert "None: every child" not in report._flags([task])


def test_a_single_threaded_row_at_two_cores_and_a_short_region_are_not_starved():
    fine = _task("tiny", {"numpy": [_round(1.0, 1.0)], "chainrule": [_round(0.5, 0.005)]},
                 cpus=(0, 1))  # fmt: skip
    assert report.flagged(fine) == []  # 1 core's worth of 2 is a one-thread system; 2.5 ms short
    assert "fell below 0.9" in report._flags([fine])


def test_the_chain_tables_say_why_their_children_run_without_the_openblas_spin():
    results = {"numpy": [{**_round(1.0, 0.01), "forward": [0.005], "backward": [0.005]}]}
    spec = {"n_ops": 100, "width": 8, "dtype": "float32", "ops": ["mul"]}
    now = replace(_task("tiny", results, spec, cpus=(0, 1)), env=dict(run.CHAIN_ENV))
    assert "OPENBLAS_THREAD_TIMEOUT=4" in report._per_op_table(now)
    older = _task("chain_100", results, spec, cpus=(0, 1))  # raw results from before the setting
    assert "spinning on the second core" in report._chain_table([older])


# -- 5. workloads 3-4 time the chain, not the list of its ops, nor JAX's queue ------------------


def _fake_clock(monkeypatch) -> dict:
    clock = {"ticks": 0, "built_at": [], "blocked_at": []}

    def perf_counter() -> float:
        clock["ticks"] += 1
        return float(clock["ticks"])

    monkeypatch.setattr(chain, "time", types.SimpleNamespace(perf_counter=perf_counter))
    real = chain._op_sequence

    def op_sequence(ops, n_ops):
        clock["built_at"].append(clock["ticks"])
        return real(ops, n_ops)

    monkeypatch.setattr(chain, "_op_sequence", op_sequence)
    return clock


def test_every_system_builds_its_op_list_before_its_timer_starts(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    clock = _fake_clock(monkeypatch)
    built = {}
    for system, make in chain.SYSTEMS.items():
        try:
            run_chain = make(2, "float32", ["mul", "add"])
        except ImportError:  # a peer that is not installed
            continue
        clock["ticks"], clock["built_at"] = 0, []
        run_chain(6)
        built[system] = clock["built_at"]
    assert {"chainrule", "numpy"} <= set(built)
    assert built == {system: [0] for system in built}  # before the run's first perf_counter()


def test_jax_forward_is_waited_for_before_the_forward_time_is_read(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    jax = pytest.importorskip("jax")
    clock = _fake_clock(monkeypatch)
    real = jax.block_until_ready

    def block_until_ready(value):
        clock["blocked_at"].append(clock["ticks"])
        return real(value)

    monkeypatch.setattr(jax, "block_until_ready", block_until_ready)
    run_chain = chain.make_jax(2, "float32", ["mul", "add"])
    clock["ticks"] = 0
    run_chain(6)
    assert clock["blocked_at"] == [1, 2]  # after start, before middle; then after middle


# -- 6. moons: every system's warm-up is the same, its first step included ----------------------


def test_moons_gives_every_system_the_same_untimed_steps(monkeypatch):
    moons_task = next(t for t in run.plan(quick=False) if t.key == "moons")
    assert all("warmup" not in spec for spec in moons_task.per_system.values())
    losses = iter(range(100))
    calls = []

    def make(*_):
        return lambda: calls.append(1) or float(next(losses))

    monkeypatch.setattr(moons, "moons_problem", lambda: (None, None, None, None))
    monkeypatch.setattr(moons, "SYSTEMS", {"fake": make})
    result = moons.measure("fake", reps=3, warmup=2)
    assert len(calls) == 2 + 3 and len(result["times"]) == 3  # no step before the warm-up
    assert result["first_loss"] == 0.0


# -- 7. diagram.py's CPU, and no empty headline table --------------------------------------------


def test_diagram_refuses_a_cpu_this_process_may_not_use_in_one_line(tmp_path):
    outside = max(os.sched_getaffinity(0)) + 1
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "diagram.py"), "--core", str(outside),
         "--rounds", "1", "--draws", "1"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-800:]
    assert f"--core {outside}" in done.stderr and "Traceback" not in done.stderr


def test_a_report_with_no_ratio_to_give_has_no_headline_table():
    explained = {"times": [0.01], "cpu_times": [0.01], "terms": 10}
    tasks = [_task("explainer", {"chainrule": [explained]}, {"check": False})]
    text = report.render(FACTS, tasks, gemm_flops)
    assert "Headline ratios" not in text and "## 7. The explainer" in text


# -- 2. digits: a split without scikit-learn; chainrule-cli labelled as its own setup ----------


def test_digits_makes_its_split_without_importing_scikit_learn():
    pytest.importorskip("sklearn")  # its copy of the data
    code = ("import sys; sys.path[:0] = [{src!r}, {repo!r}]\n"
            "from benchmarks.workloads import digits\n"
            "x, labels, train, test, *_ = digits.digits_problem()\n"
            "print(sorted({{m.split('.')[0] for m in sys.modules}} & {{'sklearn', 'scipy'}}))\n"
            ).format(src=str(REPO / "src"), repo=str(REPO))  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.strip() == "[]"


def test_the_digits_split_is_stratified_disjoint_and_the_same_every_time():
    import numpy as np

    labels = np.repeat(np.arange(10), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    train, test = digits.stratified_split(labels, test_fraction=0.2, seed=0)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(labels)
    counts = np.bincount(labels[test], minlength=10)
    assert np.all(np.abs(counts - 0.2 * np.bincount(labels)) <= 0.5)  # each class's 20%
    again = digits.stratified_split(labels, test_fraction=0.2, seed=0)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], test)


def test_the_cli_row_is_labelled_as_its_own_setup_with_no_ratio():
    fit = {"times": [1.0], "cpu_times": [1.0], "epochs": 10, "accuracy": 0.95,
           "process_wall": 2.0, "max_rss": 2**20}  # fmt: skip
    cli = {**fit, "times": [20.0], "cpu_times": [20.0], "epochs": 40, "preset": "Adam, cosine"}
    task = _task("digits", {"chainrule": [fit], "chainrule-cli": [cli]},
                 {"target": 0.95, "max_epochs": 60})  # fmt: skip
    table = report._digits_table(task)
    row = next(line for line in table.splitlines() if line.startswith("| chainrule-cli"))
    assert "own preset" in row and "20.00x" not in row
    assert "*chainrule-cli* runs its own setup, not the one above: Adam, cosine" in table
