"""chainrule.distributed without MPI: sharding, averaging, metrics and decisions.

The collectives run on a fake communicator: one thread per rank, exchanging values through a
barrier, summing in rank order (as a real allreduce would, up to float summation order).
"""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, launcher
from chainrule import distributed as dist
from chainrule.tensor import Tensor

IN_PLACE = object()


class FakeComm:
    """The slice of mpi4py's communicator that chainrule uses, for ``size`` threads."""

    def __init__(self, group: dict, rank: int) -> None:
        self.group, self.rank = group, rank

    def Get_rank(self) -> int:  # noqa: N802  (mpi4py's names)
        return self.rank

    def Get_size(self) -> int:  # noqa: N802
        return self.group["size"]

    def _exchange(self, value):
        self.group["slots"][self.rank] = value
        self.group["barrier"].wait()
        values = list(self.group["slots"])
        self.group["barrier"].wait()
        return values

    def Allreduce(self, sendbuf, recvbuf) -> None:  # noqa: N802
        assert sendbuf is IN_PLACE
        values = self._exchange(np.array(recvbuf, copy=True))
        total = values[0].copy()
        for value in values[1:]:
            total += value
        recvbuf[...] = total

    def Bcast(self, buf, root: int = 0) -> None:  # noqa: N802
        buf[...] = self._exchange(np.array(buf, copy=True))[root]

    def bcast(self, obj, root: int = 0):
        return copy.deepcopy(self._exchange(obj)[root])

    def allgather(self, obj):
        return copy.deepcopy(self._exchange(obj))


def run_ranks(size: int, function) -> list:
    """``function(world)`` on ``size`` fake ranks at once; their results in rank order."""
    group = {"size": size, "slots": [None] * size, "barrier": threading.Barrier(size, timeout=20)}
    results, errors = [None] * size, []

    def one(rank: int) -> None:
        try:
            results[rank] = function(dist.World(FakeComm(group, rank), in_place=IN_PLACE))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            group["barrier"].abort()

    threads = [threading.Thread(target=one, args=(r,)) for r in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# -- launcher detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, 1),
        ({"PMI_SIZE": "4", "PMI_RANK": "2"}, 4),  # MPICH / Intel MPI (hydra)
        ({"OMPI_COMM_WORLD_SIZE": "3"}, 3),  # Open MPI
        ({"PMI_SIZE": "1"}, 1),  # mpiexec -n 1: no need for MPI
        ({"SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "16"}, 16),  # srun
        ({"SLURM_NTASKS": "16", "SLURM_JOB_ID": "7"}, 1),  # the batch script itself
        ({"PMIX_RANK": "0"}, 0),  # PMIx without a size: ask MPI
        ({"PMI_SIZE": "4", "CHAINRULE_MPI": "0"}, 1),
        ({"CHAINRULE_MPI": "1"}, 0),
    ],
)
def test_the_launcher_is_read_from_the_environment(environ, expected):
    assert dist.launched_size(environ) == expected


def _process_tree(monkeypatch, parents: dict[int, int], names: dict[int, str]) -> None:
    """A made-up process tree for the launcher's /proc reads."""
    monkeypatch.setattr(launcher, "_parent", parents.get)
    monkeypatch.setattr(launcher, "_name", lambda pid: names.get(pid, "python"))


def test_a_process_a_rank_starts_is_no_rank_but_the_ranks_of_a_launch_inside_it_are(
    monkeypatch,
):
    """A rank (pid 100) marks the environment with its pid and a digest of the launcher's
    variables; its child (101, a joblib worker; 103 under a shell) runs alone, also with
    CHAINRULE_MPI=1; the ranks of an mpiexec it starts (105, under hydra_pmi_proxy 104) are
    ranks, even with the outer job's very variables (Hydra numbers its descriptors alike);
    new variables make a rank too."""
    _process_tree(monkeypatch, {100: 50, 101: 100, 102: 100, 103: 102, 104: 100, 105: 104},
                  {50: "hydra_pmi_proxy", 102: "sh", 104: "hydra_pmi_proxy"})  # fmt: skip
    rank = {"PMI_SIZE": "2", "PMI_RANK": "0", "PMI_FD": "9"}
    launcher.mark_rank(rank, pid=100)
    assert rank[launcher.MARKER].startswith("100:")
    assert not launcher.started_by_a_rank(rank, pid=100)
    assert launcher.started_by_a_rank(rank, pid=101) and launcher.started_by_a_rank(rank, pid=103)
    assert not launcher.started_by_a_rank(rank, pid=105)  # the same variables, launched anew
    assert launcher.launched_size(rank) == 1  # read in this process: not pid 100's tree
    child = dict(rank)
    launcher.mark_rank(child, pid=101)  # a child keeps its parent's mark
    assert child[launcher.MARKER] == rank[launcher.MARKER]
    inner = dict(rank)
    launcher.mark_rank(inner, pid=105)  # an inner rank marks itself
    assert inner[launcher.MARKER].startswith("105:")
    nested = {**rank, "PMI_SIZE": "3", "PMI_RANK": "0", "PMI_FD": "11"}
    assert launcher.launched_size(nested) == 3
    alone: dict[str, str] = {}
    launcher.mark_rank(alone)
    assert alone == {}  # no launcher: nothing marked


def test_a_child_of_a_rank_forced_onto_mpi_runs_alone_too(monkeypatch):
    """CHAINRULE_MPI=1 (a launcher chainrule does not know) skipped the child check, and a
    joblib worker of such a rank started MPI and died."""
    _process_tree(monkeypatch, {100: 50, 101: 100}, {})
    forced = {"CHAINRULE_MPI": "1"}
    launcher.mark_rank(forced, pid=100)
    assert forced[launcher.MARKER].startswith("100:")
    assert launcher.started_by_a_rank(forced, pid=101)
    monkeypatch.setattr(launcher.os, "getpid", lambda: 101)
    assert launcher.launched_size(forced) == 1
    monkeypatch.setattr(launcher.os, "getpid", lambda: 100)
    assert launcher.launched_size(forced) == 0  # the rank itself: MPI is asked


def test_a_process_forked_from_a_rank_finds_a_world_of_its_own(monkeypatch):
    rank = dist.World(FakeComm({"size": 2}, rank=1))
    monkeypatch.setattr(dist, "_WORLD", rank)
    assert dist.world() is rank
    monkeypatch.setattr(rank, "pid", rank.pid + 1)  # as the world looks from a forked child
    assert dist.world().size == 1


def test_without_a_launcher_the_world_is_one_process():
    world = dist.world()
    assert (world.rank, world.size, world.is_main) == (0, 1, True)
    rows = np.arange(5)
    assert world.shard(rows) is rows
    assert world.decide(True) is True


# -- sharding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("n", [0, 1, 3, 10, 32, 33])
def test_shards_are_contiguous_blocks_that_cover_the_batch_once(n, size):
    rows = np.random.default_rng(n).permutation(n)
    blocks = [rows[slice(*dist.shard_bounds(n, r, size))] for r in range(size)]
    np.testing.assert_array_equal(np.concatenate(blocks) if blocks else rows, rows)
    lengths = [len(b) for b in blocks]
    assert max(lengths) - min(lengths) <= 1
    assert lengths == sorted(lengths, reverse=True)


def test_every_rank_takes_its_share_of_the_same_global_batches():
    """One permutation per epoch from the seed: each rank walks the same batches, so all run
    the same number of steps, and the shares of each batch are disjoint and complete."""

    def epoch(world):
        rng = np.random.default_rng(11)
        return [world.shard(rows) for rows in cr.data.batches(23, 8, rng=rng)]

    per_rank = run_ranks(3, epoch)
    assert {len(steps) for steps in per_rank} == {3}
    expected = list(cr.data.batches(23, 8, rng=np.random.default_rng(11)))
    for step, rows in enumerate(expected):
        np.testing.assert_array_equal(np.concatenate([s[step] for s in per_rank]), rows)


# -- averaging ----------------------------------------------------------------------------------


def _gradients(model, loss, X, T):
    model = copy.deepcopy(model)
    for p in model.parameters():
        p.grad = None
    if len(X):
        loss(model(Tensor(X)), Tensor(T)).backward()
    return model


@pytest.mark.parametrize("loss_name", ["cross-entropy", "squared-error"])
@pytest.mark.parametrize("size", [2, 3, 5])
def test_averaged_gradients_are_the_whole_batch_gradient(loss_name, size):
    """7 cases over 2, 3 or 5 ranks (unequal shares): the averaged gradient is the gradient of
    the loss on all 7 cases at once, for a mean (cross-entropy) and a summed loss."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 4))
    y = rng.integers(0, 3, size=7)
    loss = cr.nn.loss_from_name(loss_name)
    T = y if loss_name == "cross-entropy" else np.eye(3)[y]
    model = cr.nn.mlp([4, 5, 3], activation="logistic", rng=2, dtype=np.float64)
    whole = _gradients(model, loss, X, T)
    whole_loss = float(loss(model(Tensor(X)), Tensor(T)).item())
    summed = loss_name == "squared-error"
    locals_ = []
    for rank in range(size):
        start, stop = dist.shard_bounds(7, rank, size)
        part = _gradients(model, loss, X[start:stop], T[start:stop])
        value = float(loss(model(Tensor(X[start:stop])), Tensor(T[start:stop])).item())
        locals_.append((part, stop - start, value))

    def average(world):
        part, cases, value = locals_[world.rank]
        averager = dist.GradientAverager(part.parameters(), world, bucket_bytes=200)
        assert len(averager.buckets) > 1  # several buckets, summed in one fixed order
        weight = 1.0 if summed else float(cases)
        return averager.average(weight, value, divide=not summed)

    losses = run_ranks(size, average)
    assert losses == pytest.approx([whole_loss] * size, rel=1e-12)
    for part, _, _ in locals_:
        for mine, reference in zip(part.parameters(), whole.parameters()):
            assert isinstance(mine.grad, Tensor)  # as backward leaves it, not a bare array
            np.testing.assert_allclose(mine.grad, reference.grad, rtol=1e-12, atol=1e-14)


def test_a_rank_without_cases_adds_nothing_and_no_gradient_stays_none():
    params = [Tensor(np.zeros(3), requires_grad=True), Tensor(np.zeros(2), requires_grad=True)]

    def average(world):
        mine = copy.deepcopy(params)
        if world.rank == 0:  # rank 1 had no cases; the second parameter no gradient anywhere
            mine[0].grad = np.array([2.0, 4.0, 6.0])
        cases = 2.0 if world.rank == 0 else 0.0
        value = dist.GradientAverager(mine, world).average(cases, 0.5 if cases else 0.0)
        return value, mine[0].grad, mine[1].grad

    for value, first, second in run_ranks(2, average):
        assert value == 0.5
        np.testing.assert_array_equal(first, [2.0, 4.0, 6.0])
        assert second is None


def test_average_gradients_without_cases_is_the_plain_mean_over_ranks():
    def average(world):
        p = Tensor(np.zeros(2), requires_grad=True)
        p.grad = np.full(2, float(world.rank + 1))
        value = dist.average_gradients([p], loss=float(world.rank), group=world)
        return value, p.grad

    for value, grad in run_ranks(4, average):
        assert value == pytest.approx(1.5)
        np.testing.assert_array_equal(grad, [2.5, 2.5])


# -- metrics, decisions, agreement --------------------------------------------------------------


def test_metrics_of_the_blocks_combine_into_the_metrics_of_the_whole_set():
    values = {0: (0.5, 0.75, 4), 1: (1.0, 0.5, 2), 2: (None, None, 0)}

    def reduce(world):
        loss, acc, cases = values[world.rank]
        mean = world.reduce_metrics({"loss": loss, "accuracy": acc, "r2": None}, cases)
        total = world.reduce_metrics({"loss": loss}, cases, summed=("loss",))
        return mean, total

    for mean, total in run_ranks(3, reduce):
        assert mean["loss"] == pytest.approx((0.5 * 4 + 1.0 * 2) / 6)
        assert mean["accuracy"] == pytest.approx((0.75 * 4 + 0.5 * 2) / 6)
        assert mean["r2"] is None
        assert total["loss"] == pytest.approx(1.5)


@pytest.mark.parametrize("rank0_says", [True, False])
def test_rank_0_decides_early_stopping_for_everyone(rank0_says):
    decisions = run_ranks(3, lambda w: w.decide(rank0_says if w.rank == 0 else not rank0_says))
    assert decisions == [rank0_says] * 3


def test_ranks_that_disagree_are_told_where():
    def check(world):
        world.check_same("setup", {"cases": 10, "meta": {"run": {"seed": world.rank // 2}}})

    with pytest.raises(dist.DistributedError, match=r"rank 2 has meta.run.seed=1 where rank 0"):
        run_ranks(3, check)
    run_ranks(2, check)  # ranks 0 and 1 agree


def test_broadcast_gives_every_replica_rank_0s_weights_and_optimizer_state():
    def start(world):
        model = cr.nn.mlp([3, 2], rng=world.rank, dtype=np.float64)
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for p in model.parameters():
            p.grad = np.full(p.shape, world.rank + 1.0)
        opt.step()  # a momentum buffer that differs between the ranks
        before = model.state_dict()
        dist.broadcast_parameters(model, group=world)
        dist.broadcast_optimizer(opt, group=world)
        return before, model.state_dict(), opt.state_dict()["state"]

    (_, weights0, state0), *others = run_ranks(3, start)
    for before, weights, state in others:
        assert not np.array_equal(before["0.weight"], weights0["0.weight"])
        for name in weights0:
            np.testing.assert_array_equal(weights[name], weights0[name])
        for name in state0:
            np.testing.assert_array_equal(state[name], state0[name])


def test_a_launcher_without_mpi4py_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "4")
    monkeypatch.setitem(__import__("sys").modules, "mpi4py", None)  # as if not installed
    with pytest.raises(dist.DistributedError, match=r"started 4 ranks but mpi4py is not inst"):
        dist._world_from_environment()


def test_a_trainer_alone_takes_the_one_process_path(monkeypatch):
    """In a world of one nothing is averaged or broadcast: the loop is the plain loop."""
    monkeypatch.setattr(dist.GradientAverager, "average", lambda *a, **k: pytest.fail("averaged"))
    net = cr.nn.mlp([2, 3, 1], output="logistic", rng=0)
    trainer = cr.train.Trainer(net, cr.nn.SquaredError(), cr.optim.SGD(net, lr=0.5),
                               batch_size=2, progress=False)  # fmt: skip
    history = trainer.fit(cr.data.xor(), epochs=2)
    assert len(history) == 2


def test_an_mpi4py_on_another_mpi_than_the_launcher_is_a_clear_error(monkeypatch):
    """Each rank would see a world of one and train alone: stop instead, and say why."""
    import sys
    import types

    alone = types.SimpleNamespace(Get_size=lambda: 1, Get_rank=lambda: 0)
    fake = types.ModuleType("mpi4py")
    fake.MPI = types.SimpleNamespace(COMM_WORLD=alone, IN_PLACE=IN_PLACE)
    monkeypatch.setitem(sys.modules, "mpi4py", fake)
    monkeypatch.setenv("PMI_SIZE", "4")
    with pytest.raises(dist.DistributedError, match=r"started 4 ranks but MPI sees 1"):
        dist._world_from_environment()


def test_a_ctrl_c_on_one_rank_stops_every_rank_at_the_same_step():
    """The interrupted rank must not leave the others waiting in the allreduce: the flag rides
    with the gradients, and every rank raises before the update."""

    def step(world):
        p = Tensor(np.ones(2), requires_grad=True)
        p.grad = np.ones(2)
        averager = dist.GradientAverager([p], world)
        averager.average(1.0)  # nobody interrupted: an ordinary step
        world.interrupt_pending = world.rank == 1
        try:
            averager.average(1.0)
        except KeyboardInterrupt:
            return "stopped", world.interrupt_pending
        return "went on", world.interrupt_pending

    assert run_ranks(3, step) == [("stopped", False)] * 3


def _library(name: str):
    """(module, device) of an array library other than NumPy, or skip where it is missing."""
    pytest.importorskip("array_api_compat")
    if name == "torch":
        return pytest.importorskip("torch"), "cpu"
    xs = pytest.importorskip("array_api_strict")
    return xs, xs.Device("device1")


@pytest.mark.parametrize("library", ["torch", "strict-device1"])
def test_gradients_of_another_array_library_are_averaged_through_the_host(library):
    """Each rank's gradients on PyTorch (or array-api-strict's fake device) go to the host
    buckets and come back averaged to their library and device: the NumPy result."""
    xp, device = _library(library)
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    loss = cr.nn.CrossEntropy()
    model = cr.nn.mlp([4, 5, 3], rng=2, dtype=np.float64)
    whole = _gradients(model, loss, X, y)
    parts = [copy.deepcopy(model).to(xp=xp, device=device) for _ in range(2)]

    def average(world):
        part, rows = parts[world.rank], slice(3 * world.rank, 3 * world.rank + 3)
        loss(part(cr.tensor(X[rows], xp=xp, device=device)), y[rows]).backward()
        return dist.GradientAverager(part.parameters(), world).average(3.0)

    run_ranks(2, average)
    for part in parts:
        for mine, reference in zip(part.parameters(), whole.parameters()):
            assert isinstance(mine.grad, Tensor)
            grad = mine.grad.data
            assert backend.array_module(grad) is backend.namespace(xp)
            assert str(backend.device_of(grad)) == str(device)
            # another library's sums in another order (torch, called from two rank threads at
            # once, splits its work otherwise under load: 1e-10 apart was seen, and 2e-13 on an
            # entry of 6e-6 beside entries of 1e-2, so the tolerance is the matrix's scale's); a
            # wrong weight in the average would be off by a third or more
            expected = reference.grad.data
            scale = float(np.abs(expected).max())
            np.testing.assert_allclose(backend.to_numpy(grad), expected, rtol=1e-9,
                                       atol=1e-9 * scale)  # fmt: skip


def _setup_checked(monkeypatch, **trainer_options):
    """What a Trainer's ranks compare at the start (the values given to check_same)."""
    checked = {}

    class Recording:
        size, rank = 2, 0

        def check_same(self, what, values):
            checked.update(values)

    monkeypatch.setattr(dist, "broadcast_parameters", lambda *a, **k: None)
    monkeypatch.setattr(dist, "broadcast_optimizer", lambda *a, **k: None)
    net = cr.nn.mlp([2, 3, 1], output="logistic", rng=0)
    loss = trainer_options.pop("loss", cr.nn.SquaredError())
    trainer = cr.train.Trainer(net, loss, cr.optim.SGD(net, lr=0.5), progress=False,
                               **trainer_options)  # fmt: skip
    trainer._world, trainer.train_ds, trainer.val_ds, trainer.epochs = Recording(), [], None, 1
    trainer._start_replicas(np.zeros((4, 2)), np.zeros((4, 1)))
    return checked


def test_the_ranks_compare_what_they_can_agree_on(monkeypatch, tmp_path):
    """A plain function as the loss was refused on every run (its repr holds an address that
    differs per rank); a node-local copy of the data file was refused for its path (its
    content is compared by checksum); ranks checkpointing differently were not compared, and
    died at the end with MPI's own error (a save asks every rank whether it is due)."""

    def the_loss():  # each rank defines its own function object: same name, another address
        def sse(y, t):
            return cr.sum((y - t) * (y - t))

        sse.reduction = "sum"  # several ranks must know how it combines cases (or refuse)
        return sse

    first = _setup_checked(
        monkeypatch, loss=the_loss(), meta={"run": {"data_file": "/a/d.csv", "seed": 1}}
    )
    second = _setup_checked(
        monkeypatch, loss=the_loss(), meta={"run": {"data_file": "/b/d.csv", "seed": 1}}
    )
    assert first["loss"] == second["loss"] and first["loss"].endswith("the_loss.<locals>.sse")
    assert first["meta"] == second["meta"] == {"run": {"seed": 1}}
    saving = _setup_checked(monkeypatch, checkpoint_dir=tmp_path, checkpoint_every=5)
    assert saving["checkpoints"] != first["checkpoints"]


def test_a_stop_every_rank_met_is_marked_on_the_error_not_the_process():
    """The mark was a flag of the process: a program that caught the ranks' disagreement and
    went on had one rank's later failure skip the abort, and the job hung."""

    def disagree(world):
        try:
            world.check_same("setup", {"seed": world.rank})
        except dist.DistributedError as error:
            return error
        return None

    errors = run_ranks(2, disagree)
    assert all(dist.raised_together(e) for e in errors)
    later = RuntimeError("one rank's own failure")
    assert not dist.raised_together(later)
    try:  # raised while handling the stop, on one rank: its own failure, not the stop
        try:
            raise errors[0]
        except dist.DistributedError:
            raise later  # noqa: B904
    except RuntimeError as error:
        assert not dist.raised_together(error)
    wrapped = ValueError("the same stop, raised from it")
    wrapped.__cause__ = errors[0]
    assert dist.raised_together(wrapped)


def test_a_signal_every_rank_stops_at_is_marked_on_its_interrupt():
    world = dist.World(FakeComm({"size": 2}, rank=0))
    with pytest.raises(KeyboardInterrupt) as caught:
        world.stop_for(2)
    assert dist.raised_together(caught.value)
    assert not dist.raised_together(KeyboardInterrupt())


def test_a_node_local_copy_of_the_data_file_is_the_same_run(monkeypatch):
    """The CLI records the file twice, as typed (``data``) and absolute (``data_file``): only
    ``data_file`` was left out of the comparison, so a copy at another path (or a link, or a
    relative path on one rank) was refused as 'the ranks disagree ... meta.run.data'."""
    runs = [
        {"data": "d a.csv", "data_file": "/node0/d a.csv", "seed": 1, "data_sha256": "ab"},
        {"data": "node b/copy.csv", "data_file": "/node1/copy.csv", "seed": 1, "data_sha256": "ab"},
    ]
    checked = [_setup_checked(monkeypatch, meta={"run": run}) for run in runs]
    assert checked[0]["meta"] == checked[1]["meta"] == {"run": {"seed": 1, "data_sha256": "ab"}}
    builtin = _setup_checked(monkeypatch, meta={"run": {"data": "xor", "seed": 1}})
    assert builtin["meta"] == {"run": {"data": "xor", "seed": 1}}  # a data set's name is compared
