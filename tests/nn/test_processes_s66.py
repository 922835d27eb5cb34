"""chainrule in several processes (multiprocessing, a process pool, joblib), as a QA tester ran it.

- A network with ``nn.Dropout()`` (the default generator) that was pickled (joblib sending a
  template to its workers, ``pickle.loads(pickle.dumps(net))``) trained with masks that ignored
  the trainer's ``seed``: NumPy rebuilt the default generator as a plain one, which a fit took
  for the layer's own; ``n_jobs=1`` and ``n_jobs=2`` gave other weights.
- After ``fork`` the children shared the default generator's state (the same ``cr.randn``,
  ``nn.Linear`` weights, dropout masks), though it is documented to differ between processes.
- ``cloudpickle`` could not pickle a function using ``cr.`` (``cannot pickle 'Package'
  object``), so joblib could not send one to its workers.
- An error carrying a tensor or a graph's node did not pickle, so a worker's error arrived as
  another one (joblib: ``TerminatedWorkerError``).
- Two processes saving to one new path: the loser got a bare "Directory not empty"; a network
  with a gradient from ``backward(create_graph=True)`` refused to pickle without naming it.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import multiprocessing
import os
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, train
from chainrule.ops.registry import primitive

_RESULT_TIMEOUT = 240  # seconds a worker process may take (it starts Python and chainrule)


def _dataset() -> cr.data.Dataset:
    r = np.random.default_rng(1)
    return cr.data.Dataset(
        r.standard_normal((48, 4)), r.integers(0, 3, 48), "classification", n_classes=3
    )


def _template() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(4, 8, rng=0), nn.Logistic(), nn.Dropout(0.3), nn.Linear(8, 3, rng=1)
    )


def _fit(net: nn.Sequential, seed: int) -> dict:
    """The tester's trial: a fit of 3 epochs with ``seed``; the weights and the state of the
    generator the dropout layer drew its masks from."""
    opt = optim.SGD(net.parameters(), lr=0.1)
    train.fit(net, nn.CrossEntropy(), opt, _dataset(), epochs=3, batch_size=16, seed=seed,
              progress=False)  # fmt: skip
    weights = {k: np.array(v) for k, v in net.state_dict().items()}
    return {"weights": weights, "masks from": net[2].rng.bit_generator.state}


def _fit_in_a_worker(net: nn.Sequential, seed: int) -> dict:
    """What a worker runs: the network arrives pickled."""
    return _fit(net, seed)


def _assert_same_run(run: dict, expected: dict, what: str) -> None:
    for name, values in expected["weights"].items():
        np.testing.assert_array_equal(run["weights"][name], values, err_msg=f"{what}: {name}")
    assert run["masks from"] == expected["masks from"], what


@pytest.fixture(scope="module")
def spawned():
    """Two worker processes started by ``spawn`` (fresh interpreters: nothing of the test
    process's state but what is pickled to them)."""
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def test_a_pickled_network_with_dropout_runs_as_the_trainers_seed_says(spawned):
    """Serial (a deep copy of the template), pickled in this process and sent to worker
    processes: one run for one seed, bit for bit; another seed gives other masks."""
    template = _template()
    cr.manual_seed(123)  # the default's state at the pickle must not decide the masks
    pickled = pickle.dumps(template)
    cr.manual_seed(456)
    serial = {seed: _fit(copy.deepcopy(template), seed) for seed in (0, 1)}
    for seed in (0, 1):
        _assert_same_run(_fit(pickle.loads(pickled), seed), serial[seed], f"pickled, seed {seed}")
    jobs = {seed: spawned.submit(_fit_in_a_worker, template, seed) for seed in (0, 1)}
    for seed, job in jobs.items():
        _assert_same_run(job.result(timeout=_RESULT_TIMEOUT), serial[seed], f"worker, {seed}")
    assert serial[0]["masks from"] != serial[1]["masks from"]
    assert not np.array_equal(serial[0]["weights"]["3.weight"], serial[1]["weights"]["3.weight"])


def test_the_default_generator_pickles_as_the_receiving_processs(default_state_kept):
    """The layer's generator unpickles as this process's default (a deep copy keeps it too);
    the default generator pickled or copied alone is NumPy's copy, a plain generator in its
    state (a checkpoint of it: it draws what the default drew after the pickle)."""
    template = _template()
    default = cr.creation.as_generator(None)
    assert pickle.loads(pickle.dumps(template))[2].rng is default
    assert copy.deepcopy(template)[2].rng is default
    cr.manual_seed(0)
    saved = pickle.dumps({"rng": default, "net": template})
    first = default.normal(size=3)
    restored = pickle.loads(saved)
    assert restored["rng"] is not default and type(restored["rng"]) is np.random.Generator
    assert np.array_equal(restored["rng"].normal(size=3), first)
    assert restored["net"][2].rng is default
    snapshot = copy.deepcopy(default)
    assert snapshot is not default and type(snapshot) is np.random.Generator
    assert snapshot.bit_generator.state == default.bit_generator.state


def test_a_trainer_pickled_before_its_fit_runs_as_its_seed_says():
    template = _template()
    expected = _fit(copy.deepcopy(template), 2)
    net = copy.deepcopy(template)
    trainer = train.Trainer(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.1),
                            batch_size=16, seed=2, progress=False)  # fmt: skip
    cr.manual_seed(7)
    sent = pickle.dumps(trainer)
    cr.manual_seed(8)
    received = pickle.loads(sent)
    received.fit(_dataset(), epochs=3)
    run = {
        "weights": {k: np.array(v) for k, v in received.model.state_dict().items()},
        "masks from": received.model[2].rng.bit_generator.state,
    }
    _assert_same_run(run, expected, "trainer pickled before its fit")


def _draws_in_a_forked_child() -> list[float]:
    """``cr.randn``, ``nn.Linear``'s initial weights and a dropout mask drawn in a child of
    ``os.fork``, sent back through a pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: draw, write, leave without running anything of the parent's
        code = 1
        try:
            mask = nn.Dropout(0.5)(cr.ones(16)).numpy()
            draws = [*cr.randn(3).numpy(), *nn.Linear(2, 2).weight.numpy().ravel(), *mask]
            os.write(write, pickle.dumps(draws))
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        sent = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child failed"
    return pickle.loads(sent)


@pytest.fixture
def default_state_kept(monkeypatch):
    """The default generator's state and whether it was seeded, put back after the test."""
    default = cr.creation.as_generator(None)
    state = default.bit_generator.state
    seeded = getattr(cr.creation, "_seeded", False)
    monkeypatch.setattr(cr.creation, "_seeded", seeded, raising=False)
    yield default
    default.bit_generator.state = state


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_forked_children_draw_numbers_of_their_own_unless_seeded(default_state_kept, monkeypatch):
    """Unseeded, the default differs from process to process, forked ones too: two children
    and the parent's next draws all differ. After ``cr.manual_seed`` in the parent each child
    goes on from the seeded state (as torch's and NumPy's generators do): every child draws
    what the parent draws next."""
    # as in a program that never seeded it (a test before this one may have)
    monkeypatch.setattr(cr.creation, "_seeded", False, raising=False)
    first, second = _draws_in_a_forked_child(), _draws_in_a_forked_child()
    parents = [*cr.randn(3).numpy()]
    assert first != second
    assert first[:3] != parents and second[:3] != parents

    cr.manual_seed(5)
    first, second = _draws_in_a_forked_child(), _draws_in_a_forked_child()
    mask = nn.Dropout(0.5)(cr.ones(16)).numpy()
    parents = [*cr.randn(3).numpy(), *nn.Linear(2, 2).weight.numpy().ravel(), *mask]
    assert first == second == parents


def _uses_cr(i: int) -> float:
    return float(cr.tensor([1.0, 2.0]).sum()) + i


def test_a_function_using_cr_pickles_with_cloudpickle():
    """cloudpickle pickles a function it cannot import by value, the modules it reads too:
    chainrule's top package, of a module class of its own, failed; it pickles by name."""
    cloudpickle = pytest.importorskip("cloudpickle")
    assert pickle.loads(cloudpickle.dumps(lambda: cr.tensor(1.0).item()))() == 1.0
    assert pickle.loads(cloudpickle.dumps(cr)) is cr
    assert pickle.loads(pickle.dumps(cr)) is cr


def test_joblib_runs_a_function_using_cr_in_two_workers():
    """The tester's joblib run: a function defined where joblib cannot import it (here, inside
    the test) reaches its workers by value."""
    joblib = pytest.importorskip("joblib")

    def work(i: int) -> float:
        return float(cr.tensor([1.0, 2.0]).sum()) + i

    try:
        parallel = joblib.Parallel(n_jobs=2, timeout=_RESULT_TIMEOUT)
        assert parallel(joblib.delayed(work)(i) for i in range(2)) == [3.0, 4.0]
    finally:  # no worker left waiting for more work
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)


def _refusal_of_a_non_leaf() -> None:
    t = cr.tensor([1.0], requires_grad=True)
    np.asarray(t * 2)


def _refusal_of_a_leaf() -> None:
    np.asarray(cr.tensor([1.0], requires_grad=True))


def _broken_rule(g, out, x):
    raise ValueError("my rule broke")


def _a_rule_raises() -> None:
    broken = primitive("s66_broken_rule", lambda x: x * 2, _broken_rule, replace=True)
    broken(cr.tensor([1.0, 2.0], requires_grad=True)).sum().backward()


_RAISING = [_refusal_of_a_non_leaf, _refusal_of_a_leaf, _a_rule_raises]


def _raised(function) -> BaseException:
    with pytest.raises(Exception) as caught:
        function()
    return caught.value


@pytest.mark.parametrize("function", _RAISING, ids=lambda f: f.__name__.strip("_"))
def test_errors_carrying_a_tensor_or_node_pickle_as_themselves(function):
    """The type and the message survive a pickle round trip and a deep copy; the tensor or
    node, for this process's use only, is left out, and kept on the error itself."""
    error = _raised(function)
    marks = {"refused_tensor", "raised_by_rule"} & set(vars(error))
    assert marks  # what gradcheck and the transforms read here
    for copied in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(copied) is type(error) and str(copied) == str(error)
        assert not marks & set(vars(copied))
    assert pickle.loads(pickle.dumps(error)).args == error.args
    assert all(hasattr(error, mark) for mark in marks)  # the original keeps them


def _raise_in_a_worker(index: int) -> None:
    _RAISING[index]()


def test_a_workers_error_carrying_a_tensor_arrives_as_itself(spawned):
    """A spawned worker raising such an error delivers it (it arrived as a pickling error)."""
    for index, function in enumerate(_RAISING):
        expected = _raised(function)
        with pytest.raises(type(expected)) as caught:
            spawned.submit(_raise_in_a_worker, index).result(timeout=_RESULT_TIMEOUT)
        assert type(caught.value) is type(expected) and str(caught.value) == str(expected)


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1))


def test_a_save_that_finds_its_new_path_taken_replaces_it(tmp_path, monkeypatch):
    """Two processes saving to one new path: the other's directory appears between the look at
    the path and the rename into place. The loser got OSError "Directory not empty"; it
    replaces the files as a save to an existing path does (the last writer wins)."""
    path = tmp_path / "model"
    first, second = _net(), nn.Sequential(nn.Linear(4, 3, rng=5), nn.Tanh(), nn.Linear(3, 2))
    write_files = cr.io._write_model_files

    def another_process_saves_first(directory, weights, description):
        monkeypatch.setattr(cr.io, "_write_model_files", write_files)
        cr.io.save_model(path, first, loss=nn.MSE())  # the other process's save, complete
        write_files(directory, weights, description)

    monkeypatch.setattr(cr.io, "_write_model_files", another_process_saves_first)
    assert cr.io.save_model(path, second, loss=nn.MSE()) == path
    loaded, _ = cr.io.load_model(path)
    for name, values in second.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], values, err_msg=name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "model.safetensors"]


def test_pickling_a_network_with_a_gradients_graph_names_it_and_the_way_out():
    """After ``backward(create_graph=True)`` the refusal named no tensor: it names the
    parameter's gradient and how to clear it; cleared, the network pickles."""
    net = _net()
    net(cr.ones((1, 4))).sum().backward(create_graph=True)
    for copying in (pickle.dumps, copy.deepcopy):
        with pytest.raises(RuntimeError, match=r"0\.weight\.grad.*zero_grad\(\)") as caught:
            copying(net)
        assert "\n" not in str(caught.value)
    opt = optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(RuntimeError, match=r"\.grad was made by backward\(create_graph=True\)"):
        pickle.dumps(opt)  # a tensor alone names its gradient and the way out too
    net.zero_grad()
    assert pickle.loads(pickle.dumps(net))[0].weight.grad is None
