"""An averaged gradient of a model on another array library is its own array, not a view.

``GradientAverager.average`` sums the gradients in NumPy buckets on the host and copies each
average back to the parameter's library. PyTorch on the CPU and array-api-strict wrap a NumPy
array they are given, so a ``p.grad`` kept from one step changed at the next ``average()``.
The reference is each rank's own gradient before averaging (in a world of one: the average
itself; under ``mpiexec``: the mean of every rank's, gathered with mpi4py).
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from test_mpi import _launch, needs_mpi

import chainrule as cr
from chainrule import distributed as dist


def _own_gradients(model, inputs, scale):
    """This process's gradients of ``scale * sum(model(inputs))``, copied to the host."""
    model.zero_grad()
    cr.sum(model(inputs) * scale).backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("library", ["torch", "array_api_strict"])
def test_a_gradient_kept_from_one_step_is_left_alone_by_the_next_average(library):
    xp = pytest.importorskip(library)
    model = cr.nn.mlp([3, 4, 2], rng=0, dtype=np.float64).to(xp=xp)
    inputs = cr.tensor(np.random.default_rng(1).normal(size=(5, 3)), xp=xp)
    averager = dist.GradientAverager(model.parameters(), dist.World())
    first = _own_gradients(model, inputs, 1.0)
    averager.average()
    kept = [p.grad for p in model.parameters()]
    second = _own_gradients(model, inputs, -3.0)
    averager.average()
    for p, kept_grad, expected_then, expected_now in zip(model.parameters(), kept, first, second):
        assert type(kept_grad.data) is type(p.data)  # back in the parameter's library
        np.testing.assert_allclose(kept_grad.numpy(), expected_then, rtol=1e-12)
        np.testing.assert_allclose(p.grad.numpy(), expected_now, rtol=1e-12)


def test_numpy_gradients_stay_views_into_the_bucket_as_documented():
    """The NumPy path saves a copy per gradient per step: no copy was added there."""
    model = cr.nn.mlp([3, 2], rng=0, dtype=np.float64)
    averager = dist.GradientAverager(model.parameters(), dist.World())
    _own_gradients(model, cr.tensor(np.ones((2, 3))), 1.0)
    averager.average()
    bucket = averager.buckets[0][0]
    assert all(np.shares_memory(p.grad.data, bucket) for p in model.parameters())


WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from mpi4py import MPI
    import chainrule as cr
    from chainrule import distributed as dist

    def own(model, inputs, scale):
        model.zero_grad()
        cr.sum(model(inputs) * scale).backward()
        return [p.grad.numpy().copy() for p in model.parameters()]

    world = dist.init()
    found = {}
    for name in sys.argv[2:]:
        xp = __import__(name)
        model = cr.nn.mlp([3, 4, 2], rng=0, dtype=np.float64).to(xp=xp)
        rows = np.random.default_rng(10 + world.rank).normal(size=(5, 3))
        inputs = cr.tensor(rows, xp=xp)
        averager = dist.GradientAverager(model.parameters(), world)
        every = MPI.COMM_WORLD.allgather(own(model, inputs, 1.0))
        mean = [np.mean([g[i] for g in every], axis=0) for i in range(len(every[0]))]
        averager.average(1.0)
        kept = [p.grad for p in model.parameters()]
        own(model, inputs, -3.0)
        averager.average(1.0)
        found[name] = max(float(np.max(np.abs(k.numpy() - m))) for k, m in zip(kept, mean))
    if world.rank == 0:
        with open(sys.argv[1], "w") as out:
            json.dump(found, out)
    """
)


@needs_mpi
def test_under_mpiexec_a_kept_average_stays_the_mean_of_its_step(tmp_path):
    libraries = [name for name in ("torch", "array_api_strict") if _importable(name)]
    if not libraries:
        pytest.skip("needs torch or array-api-strict")
    script, result = tmp_path / "keep_worker.py", tmp_path / "found.json"
    script.write_text(WORKER)
    done = _launch(2, [str(script), str(result), *libraries], tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(result.read_text())
    assert set(found) == set(libraries)
    for name, error in found.items():
        assert error < 1e-12, f"{name}: the kept step-1 average moved by {error}"


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True
