"""Data-parallel training under a real ``mpiexec`` (the MPICH wheel from the [mpi] extra).

Each test launches 2 or 4 ranks of ``mpi_worker.py`` (or ``chainrule train``) on tiny problems;
the reference runs are the same programs in one process. Skipped where mpiexec or mpi4py is
missing (``pip install -e '.[mpi]'`` brings both).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

WORKER = Path(__file__).with_name("mpi_worker.py")
# the [mpi] extra puts mpiexec beside the interpreter, which may not be on PATH
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpiexec and mpi4py (pip install -e '.[mpi]')",
)


def _env() -> dict[str, str]:
    """This checkout's chainrule in the children, and no launcher variables of our own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI_", "SLURM_"))}
    src = str(Path(chainrule.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _launch(ranks: int | None, args: list[str], cwd: Path, timeout: float = 120):
    command = [sys.executable, *args]
    if ranks is not None:
        command = [MPIEXEC, "-n", str(ranks), *command]
    return _run_job(command, cwd, timeout)


def _run_job(command: list[str], cwd: Path, timeout: float):
    """``subprocess.run`` for mpiexec: a job that hangs is killed whole (mpiexec and every rank,
    in their own session), so a failing test leaves no rank spinning in a collective."""
    with subprocess.Popen(command, cwd=cwd, env=_env(), text=True, start_new_session=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _worker():
    """mpi_worker.py as a module, for the one-process reference runs (in this process)."""
    spec = importlib.util.spec_from_file_location("mpi_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train(ranks: int | None, out: Path, *extra: str) -> list[dict[str, np.ndarray]]:
    """Run the worker (``ranks=None``: here, in one process); return every rank's weights."""
    if ranks is None:
        args = dict(epochs=3, loss="cross-entropy", checkpoints=None, resume=None,
                    early_stopping=None)  # fmt: skip
        for key, value in zip(extra[::2], extra[1::2]):
            name = key.lstrip("-").replace("-", "_")
            args[name] = int(value) if name in ("epochs", "early_stopping") else value
        _worker().train(out, **args)
        return [dict(np.load(out / "rank0.npz"))]
    done = _launch(ranks, [str(WORKER), "train", str(out), *extra], out.parent)
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("rank*.npz"))
    assert len(files) == (ranks or 1)
    return [dict(np.load(f)) for f in files]


def _assert_replicas_identical(weights: list[dict[str, np.ndarray]]) -> None:
    for other in weights[1:]:
        for name, array in weights[0].items():
            assert np.array_equal(array, other[name]), f"replicas differ in {name}"


def _assert_close(a: dict[str, np.ndarray], b: dict[str, np.ndarray], tol: float) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=tol, err_msg=name)


@needs_mpi
@pytest.mark.parametrize(
    ("ranks", "loss"), [(2, "cross-entropy"), (4, "squared-error"), (2, "margin-squared-error")]
)  # a mean over cases and two sums over cases; 4 ranks on 2 cores: oversubscribed, tiny
def test_replicas_match_one_process_on_the_same_global_batches(tmp_path, ranks, loss):
    alone = _train(None, tmp_path / "alone", "--loss", loss)[0]
    weights = _train(ranks, tmp_path / "mpi", "--loss", loss)
    _assert_replicas_identical(weights)
    _assert_close(weights[0], alone, 1e-6)
    # the weights moved: a run that skipped training would not pass for a trained one
    start = chainrule.nn.mlp([5, 8, 3], activation="logistic", rng=1, dtype=np.float64)
    assert max(np.abs(start.state_dict()[k] - alone[k]).max() for k in alone) > 1e-2
    # the allreduced epoch metrics are the single process's
    history_mpi = json.loads((tmp_path / "mpi" / "history0.json").read_text())
    history_alone = json.loads((tmp_path / "alone" / "history0.json").read_text())
    for a, b in zip(history_mpi, history_alone):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-9)
        assert a["val_accuracy"] == pytest.approx(b["val_accuracy"])


@needs_mpi
def test_the_sklearn_estimator_trains_data_parallel_too(tmp_path):
    def fit(ranks, out):
        done = _launch(ranks, [str(WORKER), "sklearn", str(out)], tmp_path)
        assert done.returncode == 0, done.stderr
        return [dict(np.load(f)) for f in sorted(out.glob("rank*.npz"))]

    _worker().sklearn(tmp_path / "alone")
    alone = dict(np.load(tmp_path / "alone" / "rank0.npz"))
    weights = fit(2, tmp_path / "mpi")
    assert len(weights) == 2
    _assert_replicas_identical(weights)
    _assert_close(weights[0], alone, 1e-6)


@needs_mpi
def test_a_verbose_sklearn_estimator_prints_its_iterations_once(tmp_path):
    """Every rank printed scikit-learn's "Iteration n, loss = ..." lines."""
    done = _launch(2, [str(WORKER), "sklearn-verbose", str(tmp_path / "out")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Iteration") == 4  # the ranks' lines may share a line of output
    lines = [line for line in done.stdout.splitlines() if line.startswith("Iteration")]
    assert [line.split(",")[0] for line in lines] == [f"Iteration {n}" for n in range(1, 5)]


@needs_mpi
def test_sklearn_estimators_that_disagree_stop_at_the_start(tmp_path):
    """Rank 1 asked for 5 epochs where rank 0 asked for 4: only the data's shape was compared,
    so rank 1 waited for a fifth epoch's gradients that rank 0 never sent."""
    done = _launch(2, [str(WORKER), "sklearn-apart", str(tmp_path / "out")], tmp_path, 60)
    assert done.returncode != 0
    assert "the ranks disagree on the training setup: rank 1 has max_iter=5 where rank 0 has 4" in (
        done.stderr
    )
    assert done.stderr.count("the ranks disagree") == 1 and "Abort" not in done.stderr
    assert not (tmp_path / "out").exists()


@needs_mpi
@pytest.mark.parametrize("mode", ["train", "sklearn"])
def test_ranks_given_each_its_own_part_of_the_data_are_refused(tmp_path, mode):
    """Each rank trains on its own block of every batch of the whole set: ranks given their own
    cases (as many on each) compared equal and trained on one rank's share of every batch."""
    out = tmp_path / "out"
    done = _launch(2, [str(WORKER), mode, str(out), "--data", "own-part"], tmp_path, 60)
    assert done.returncode != 0
    assert "the ranks disagree on the training setup: rank 1 has data=" in done.stderr
    assert "every rank must hold the whole data set" in done.stderr
    assert not list(out.glob("rank*.npz"))


@needs_mpi
def test_processes_a_rank_starts_run_alone_and_the_rank_stays_in_its_world(tmp_path):
    """joblib's workers (cross_val_score with n_jobs=2) inherit the launcher's variables: they
    started MPI as if they were ranks and died in MPICH's PMI protocol."""
    out = tmp_path / "out"
    done = _launch(2, [str(WORKER), "children", str(out)], tmp_path, 120)
    assert done.returncode == 0, done.stderr
    seen = [json.loads((out / f"children{r}.json").read_text()) for r in range(2)]
    for rank in seen:
        assert rank["world"] == 2
        assert (rank["spawn"], rank["fork"], rank["subprocess"]) == (1, 1, 1)
        assert rank["scores"] == seen[0]["scores"] and len(rank["scores"]) == 2


@needs_mpi
def test_the_ranks_of_an_mpiexec_started_inside_a_rank_are_ranks(tmp_path):
    """Hydra gives the inner job's rank 0 the outer rank 0's very variables: taken for a child
    of the outer rank, it ran alone while its partner waited for it forever."""
    out = tmp_path / "out"
    done = _launch(2, [str(WORKER), "nest", str(out)], tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [json.loads((out / f"size{r}.json").read_text()) for r in range(2)] == [2, 2]


@needs_mpi
def test_a_validation_set_without_subset_is_evaluated_under_mpi_as_in_one_process(tmp_path):
    """fit asks a dataset for X, y and a length; under MPI the validation set's ``subset`` was
    called too (an AttributeError after the first epoch, in one process none)."""
    alone = _train(None, tmp_path / "alone", "--data", "plain-validation")[0]
    weights = _train(2, tmp_path / "mpi", "--data", "plain-validation")
    _assert_close(weights[0], alone, 1e-6)
    history_mpi = json.loads((tmp_path / "mpi" / "history0.json").read_text())
    history_alone = json.loads((tmp_path / "alone" / "history0.json").read_text())
    for a, b in zip(history_mpi, history_alone):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-9)
        assert a["val_accuracy"] == pytest.approx(b["val_accuracy"])


@needs_mpi
@pytest.mark.parametrize(("setting", "expected"), [(None, 1), ("2", 2)])
def test_ranks_sharing_a_machine_use_one_blas_thread_unless_told(tmp_path, setting, expected):
    pytest.importorskip("threadpoolctl")
    env = _env()
    if setting is not None:
        env["CHAINRULE_BLAS_THREADS"] = setting
    command = [MPIEXEC, "-n", "2", sys.executable, str(WORKER), "threads", str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    reports = [json.loads(f.read_text()) for f in sorted(tmp_path.glob("threads*.json"))]
    assert len(reports) == 2
    assert all(r["blas_threads"] and set(r["blas_threads"]) == {expected} for r in reports)


@needs_mpi
def test_early_stopping_under_mpi_stops_where_one_process_stops(tmp_path):
    extra = ["--epochs", "40", "--early-stopping", "2"]
    alone = _train(None, tmp_path / "alone", *extra)[0]
    weights = _train(2, tmp_path / "mpi", *extra)
    _assert_replicas_identical(weights)
    _assert_close(weights[0], alone, 1e-6)
    epochs = [len(json.loads(f.read_text())) for f in sorted((tmp_path / "mpi").glob("hist*"))]
    assert epochs[0] == epochs[1] == len(json.loads((tmp_path / "alone" / "history0.json")
                                                    .read_text())) < 40  # fmt: skip


@needs_mpi
def test_a_run_resumed_under_mpi_matches_an_uninterrupted_one(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    _train(2, tmp_path / "first", "--epochs", "2", "--checkpoints", str(checkpoints))
    assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch-000001", "epoch-000002"]
    resumed = _train(2, tmp_path / "resumed", "--epochs", "4", "--resume", str(checkpoints))
    whole = _train(2, tmp_path / "whole", "--epochs", "4")
    _assert_replicas_identical(resumed)
    _assert_close(resumed[0], whole[0], 0.0)


@needs_mpi
def test_a_failing_rank_ends_the_job_quickly(tmp_path):
    started = time.perf_counter()
    done = _launch(2, [str(WORKER), "fail", str(tmp_path)], tmp_path, timeout=60)
    elapsed = time.perf_counter() - started
    assert done.returncode != 0
    assert elapsed < 30
    assert "rank 1 failed (RuntimeError: rank 1 fails on purpose)" in done.stderr
    assert "MPI_Abort" not in done.stderr  # the line above says it: MPI's own adds nothing


@needs_mpi
def test_serve_under_mpiexec_is_refused_in_one_line(tmp_path):
    """Every rank started the explorer on one address: rank 0 served, rank 1 could not listen
    and ended the job."""
    done = _launch(2, ["-m", "chainrule", "serve", "--port", "1"], tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "serve: the explorer is one web server" in lines[0], lines
    assert "without mpiexec" in lines[0] and done.stdout == ""


@needs_mpi
def test_sys_exit_with_a_failing_status_on_one_rank_ends_the_job_with_it(tmp_path):
    """sys.excepthook never sees SystemExit: without the exit hook rank 1 left, rank 0 waited
    in its allreduce forever."""
    started = time.perf_counter()
    done = _launch(2, [str(WORKER), "exit", str(tmp_path)], tmp_path, timeout=40)
    assert done.returncode == 3, done.stderr
    assert time.perf_counter() - started < 30
    # the program said nothing: MPI's abort line is the one word on which rank ended the job
    assert "Abort(3) on node 1" in done.stderr, done.stderr


@needs_mpi
def test_a_rank_failing_alone_after_a_caught_disagreement_still_ends_the_job(tmp_path):
    """The disagreement marked the process as "every rank stopping": a later failure of one
    rank skipped the abort and the job hung in rank 0's collective."""
    started = time.perf_counter()
    done = _launch(2, [str(WORKER), "caught-then-fail", str(tmp_path)], tmp_path, timeout=50)
    assert done.returncode != 0
    assert "rank 1 fails alone after the caught disagreement" in done.stderr
    assert time.perf_counter() - started < 40


@needs_mpi
def test_sys_exit_0_and_a_normal_end_finish_the_job_cleanly(tmp_path):
    done = _launch(2, [str(WORKER), "exit-0", str(tmp_path)], tmp_path, timeout=40)
    assert done.returncode == 0, done.stderr
    assert "Abort" not in done.stderr


@needs_mpi
def test_chainrule_train_under_mpiexec_writes_one_run_directory(tmp_path):
    args = ["-m", "chainrule", "train", "--data", "xor", "--epochs", "30", "--quiet", "--json"]
    done = _launch(2, args, tmp_path)
    assert done.returncode == 0, done.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "run.json").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "runs"]
    summary = json.loads(done.stdout)  # one summary on stdout: only rank 0 reports
    assert summary["out"] == str(runs[0].relative_to(tmp_path))
    assert len(json.loads((runs[0] / "history.json").read_text())) == 30


@needs_mpi
def test_explain_and_graph_under_mpiexec_report_once(tmp_path):
    """Every rank runs the command: explain's text came twice, graph's "wrote" line and note
    twice (and the file was written by each rank). Rank 0 alone reports, as train's."""
    alone = _launch(None, ["-m", "chainrule", "explain", "--no-symbolic"], tmp_path)
    both = _launch(2, ["-m", "chainrule", "explain", "--no-symbolic"], tmp_path)
    assert both.returncode == alone.returncode == 0, both.stderr
    assert both.stdout == alone.stdout
    drawn = _launch(2, ["-m", "chainrule", "graph", "--out", "g.svg"], tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert drawn.stderr.count("wrote g.svg") == 1 and (tmp_path / "g.svg").is_file()


@needs_mpi
@pytest.mark.parametrize(
    ("option", "message"),
    [(["--lr", "-1"], "--lr must be a positive number"), (["--data", "nofile.csv"], "nofile.csv:")],
)
def test_a_failure_every_rank_meets_is_reported_once(tmp_path, option, message):
    args = ["-m", "chainrule", "train", "--data", "xor", "--quiet", *option]
    done = _launch(3, args, tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count(message) == 1, done.stderr  # rank 0's line; ranks 1, 2 kept still
    # and only that line: MPI's "Abort(2) on node 0 ..." after it says nothing more
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _train_with_rank_1_apart(tmp_path, *rank_1_options: str):
    """``chainrule train`` on two ranks, rank 1 with ``rank_1_options`` added."""
    base = [sys.executable, "-m", "chainrule", "train", "--data", "xor", "--epochs", "3",
            "--quiet", "--out", str(tmp_path / "run")]  # fmt: skip
    command = [MPIEXEC, "-n", "1", *base, ":", "-n", "1", *base, *rank_1_options]
    return _run_job(command, tmp_path, timeout=60)


@needs_mpi
def test_a_rank_that_fails_alone_still_reports_its_error(tmp_path):
    done = _train_with_rank_1_apart(tmp_path, "--lr", "-1")
    assert done.returncode == 2
    assert done.stderr.count("--lr must be a positive number, got -1.0") == 1, done.stderr


@needs_mpi
@pytest.mark.parametrize("out", [["--out", "run"], []], ids=["out", "default-out"])
def test_a_rank_that_cannot_read_the_data_alone_leaves_no_run_directory(tmp_path, out):
    """Rank 1 cannot read the data (not on a shared file system): rank 0, which can, must not
    have created the run directory (or runs/) when the job ends; the error is said once."""
    base = [sys.executable, "-m", "chainrule", "train", "--data", "xor", "--epochs", "3",
            "--quiet", *out]  # fmt: skip
    missing = str(tmp_path / "missing.csv")
    command = [MPIEXEC, "-n", "1", *base, ":", "-n", "1", *base, "--data", missing]
    done = _run_job(command, tmp_path, timeout=60)
    assert done.returncode == 2
    assert list(tmp_path.iterdir()) == [], done.stderr
    assert done.stderr.count(f"rank 1: {missing}: no such file") == 1, done.stderr


@needs_mpi
def test_evaluate_and_predict_under_mpiexec_print_their_results_once(tmp_path, capsys):
    # the run to read is trained here, in this process: only what mpiexec runs is under test
    train = ["train", "--data", "xor", "--epochs", "2", "--quiet"]
    assert run(capsys, *train, "--out", tmp_path / "run")[0] == 0
    done = _launch(2, ["-m", "chainrule", "evaluate", "run", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cases"] == 4  # one JSON document: only rank 0 prints
    (tmp_path / "rows.csv").write_text("0,0\n0,1\n1,0\n1,1\n")
    done = _launch(2, ["-m", "chainrule", "predict", "run", "-i", "rows.csv", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["predictions"]) == 4


@needs_mpi
def test_a_bad_option_on_every_rank_is_reported_once(tmp_path):
    done = _launch(3, ["-m", "chainrule", "train", "--data", "xor", "--bogus"], tmp_path, 60)
    assert done.returncode == 2
    assert done.stderr.count("No such option: --bogus") == 1, done.stderr


@needs_mpi
def test_a_bad_option_on_one_rank_ends_the_job_instead_of_hanging_it(tmp_path):
    # rank 1 fails before any command runs; rank 0 starts training and waits for it
    done = _train_with_rank_1_apart(tmp_path, "--bogus")
    assert done.returncode == 2
    assert done.stderr.count("No such option: --bogus") == 1, done.stderr


@needs_mpi
def test_resuming_a_complete_run_under_mpiexec_reports_once(tmp_path, capsys):
    train = ["train", "--data", "xor", "--epochs", "2", "--quiet"]  # in this process
    assert run(capsys, *train, "--out", tmp_path / "run")[0] == 0
    resume = ["-m", "chainrule", "train", "--quiet", "--resume", "run", "--json"]
    done = _launch(2, resume, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["epochs"] == 2  # one run.json: only rank 0 prints it
    assert done.stderr.count("run is already complete") == 1, done.stderr


@needs_mpi
def test_ranks_that_disagree_fail_at_the_start(tmp_path):
    done = _train_with_rank_1_apart(tmp_path, "--seed", "5")
    assert done.returncode == 2
    assert "rank 1 has seed=5 where rank 0 has 0" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
    # every rank stops there together: one line, and no MPI_Abort line after it
    assert done.stderr.count("the ranks disagree") == 1 and "Abort" not in done.stderr


@needs_mpi
@pytest.mark.slow
def test_ctrl_c_leaves_the_last_checkpoint_intact(tmp_path):
    from chainrule import io

    out = tmp_path / "run"
    command = [MPIEXEC, "-n", "2", sys.executable, "-m", "chainrule", "train", "--data", "digits",
               "--epochs", "400", "--quiet", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, env=_env(), start_new_session=True, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list((out / "checkpoints").glob("epoch-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted; the last complete checkpoint is" in stderr  # rank 0 had its say
    assert stderr.count("interrupted") == 1 and "Abort" not in stderr, stderr
    checkpoint = io.load_checkpoint(out / "checkpoints")
    assert checkpoint["state"]["epoch"] >= 1


@needs_mpi
def test_a_sigterm_to_mpiexec_stops_every_rank_at_one_step_and_rank_0_reports(tmp_path):
    """mpiexec passes a SIGTERM (a batch system's) on to the ranks: raised where each rank
    happened to be, rank 1 aborted the job before rank 0 said anything. Now it is deferred as
    Ctrl-C is, to the next gradient average."""
    out = tmp_path / "run"
    command = [MPIEXEC, "-n", "2", sys.executable, "-m", "chainrule", "train", "--data", "parity",
               "--epochs", "20000", "--quiet", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, env=_env(), start_new_session=True, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list((out / "checkpoints").glob("epoch-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)  # mpiexec alone, as a scheduler may
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 143, stderr
    assert "chainrule: terminated; the last complete checkpoint is" in stderr
    assert "Traceback" not in stderr
    assert stderr.count("terminated") == 1 and "Abort" not in stderr, stderr
