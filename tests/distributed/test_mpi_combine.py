"""How gradients and losses combine over the ranks, under a real ``mpiexec`` of 3 ranks.

One launch of ``mpi_worker.py checks`` runs every check (each a few milliseconds; a launch
costs a second) and notes what it found in ``checks.json``; each test reads its part: a plain
function as the loss (its ``reduction`` attribute, or a refusal without one),
``average_gradients`` with a summed loss and with an empty block, float16 gradients, and a run
with dropout resumed on unequal blocks. The references are computed in this process (or by
each rank alone, on the whole batch).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_mpi import WORKER, _assert_close, _assert_replicas_identical, _launch, _worker, needs_mpi

import chainrule as cr
from chainrule import distributed as dist
from chainrule.train import trainer as trainer_module

RANKS = 3  # 37 cases in batches of 10: blocks of 4, 3, 3 and of 3, 2, 2; a batch of 2 leaves
# rank 2 empty


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """The worker's checks on 3 ranks: (what rank 0 found, the output directory)."""
    out = tmp_path_factory.mktemp("mpi-checks")
    done = _launch(RANKS, [str(WORKER), "checks", str(out)], out, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "checks.json").read_text()), out


def _found(checked, name):
    value = checked[0][name]
    assert not (isinstance(value, dict) and "error" in value), value.get("error")
    return value


@needs_mpi
def test_a_plain_function_loss_that_sums_trains_as_one_process_when_it_says_so(checked, tmp_path):
    """A plain function as the loss, summing over cases, with ``E.reduction = "sum"``: the
    same weights and the same epoch losses as one process, where it needs no attribute."""
    _found(checked, "plain sum")
    out = checked[1]
    weights = [dict(np.load(out / f"plain{r}.npz")) for r in range(RANKS)]
    _assert_replicas_identical(weights)
    alone_history = _worker().plain_loss_run(tmp_path, reduction=None)  # one process: no attribute
    alone = dict(np.load(tmp_path / "plain0.npz"))
    _assert_close(weights[0], alone, 1e-9)
    history = json.loads((out / "plain-history0.json").read_text())
    assert [h["loss"] for h in history] == pytest.approx([h["loss"] for h in alone_history],
                                                         rel=1e-9)  # fmt: skip


@needs_mpi
def test_a_plain_function_loss_that_does_not_say_how_it_reduces_is_refused_at_the_start(checked):
    """Taken for a mean, a plain function summing over cases trained on wrong gradients (0.03
    off one process's weights) and reported its loss divided by the number of ranks."""
    found = _found(checked, "plain refused")
    message = found["refused"]
    assert message is not None, "trained without knowing how the loss reduces"
    assert 'E.reduction = "sum"' in message and '"mean"' in message
    assert found["together"]  # every rank stops there: no rank waits, no MPI_Abort
    assert found["epochs"] == 0 and found["unchanged"]


@needs_mpi
@pytest.mark.parametrize("batch", [7, 2])
def test_average_gradients_sums_a_summed_loss_over_the_ranks(checked, batch):
    """The docs' hand-written loop with ``SquaredError()`` (a sum over cases): divided by the
    case counts, its steps were not one process's. With ``reduction="sum"`` the gradient and
    the loss are the whole batch's (a batch of 2 leaves one rank empty)."""
    found = _found(checked, f"sum of {batch}")
    assert found["grad"] < 1e-12 and found["loss"] < 1e-12, found


@needs_mpi
@pytest.mark.parametrize("batch", [7, 2])
def test_average_gradients_of_a_mean_skips_an_empty_block(checked, batch):
    """A rank with no cases has a mean loss of NaN: it came back as the batch's loss."""
    found = _found(checked, f"mean of {batch}")
    assert found["grad"] < 1e-12 and found["loss"] < 1e-12, found


@needs_mpi
def test_float16_gradients_are_averaged_without_overflowing(checked):
    """Scaled by 40000 cases in float16 (largest value 65504) the sum was inf, the mean NaN."""
    assert _found(checked, "float16") == {"dtypes": ["float16"], "values": [1.0]}


@needs_mpi
def test_a_run_with_dropout_on_unequal_blocks_resumes_bit_for_bit(checked, tmp_path):
    """Each rank's dropout generator draws masks for its own block; the checkpoint held rank
    0's generators alone, so a resumed run drifted from the uninterrupted one (0.1 apart)."""
    found, out = _found(checked, "dropout resume"), checked[1]
    assert found["largest difference"] == 0.0
    whole = [dict(np.load(out / f"dropout-whole{r}.npz")) for r in range(RANKS)]
    resumed = [dict(np.load(out / f"dropout-resumed{r}.npz")) for r in range(RANKS)]
    _assert_replicas_identical(whole + resumed)
    # the checkpoint keeps every rank's generators (they differ) beside rank 0's, as before
    state = json.loads((out / "dropout-checkpoints/epoch-000001/trainer.json").read_text())
    by_rank = state["module_rngs_by_rank"]
    assert len(by_rank) == RANKS and by_rank[0] == state["module_rngs"]
    assert by_rank[1] != by_rank[0]  # blocks of 4 and 3 cases: other masks drawn
    # one process resumes it (with rank 0's generators); its own checkpoints are as before
    worker = _worker()
    model = worker.dropout_run(None, out / "dropout-checkpoints/epoch-000001", epochs=1)
    assert model[2].rng.bit_generator.state == state["module_rngs"]["2.rng"]
    worker.dropout_run(tmp_path / "alone", None, epochs=1)
    alone = json.loads((tmp_path / "alone/epoch-000001/trainer.json").read_text())
    assert "module_rngs_by_rank" not in alone and "2.rng" in alone["module_rngs"]


# -- without MPI ------------------------------------------------------------------------------


def test_average_gradients_takes_a_mean_or_a_sum_only():
    layer = cr.nn.Linear(2, 1, rng=0)
    with pytest.raises(cr.errors.ConfigError, match=r"reduction must be 'mean' or 'sum'"):
        dist.average_gradients(layer, reduction="none")


def test_each_rank_resumes_with_its_own_generators_or_rank_0s():
    """A checkpoint of 2 ranks: each takes its own; a third rank (resumed on more ranks) takes
    rank 0's, as every rank starts from the same seed; a checkpoint without per-rank states
    (one process's, or from before they were kept) gives every rank its one set."""
    states = [{"2.rng": {"bit_generator": "PCG64", "n": r}} for r in range(2)]
    saved = {"module_rngs": states[0], "module_rngs_by_rank": states}
    pick = trainer_module._rank_rng_states
    assert [pick(saved, r, "ck") for r in range(3)] == [states[0], states[1], states[0]]
    assert pick({"module_rngs": states[1]}, 1, "ck") == states[1]
    with pytest.raises(cr.errors.ModelFileError, match=r"ck: field 'module_rngs_by_rank'"):
        pick({"module_rngs": {}, "module_rngs_by_rank": {"0": 1}}, 0, "ck")


def test_a_rank_above_0_gives_dropout_a_generator_of_its_own_and_leaves_the_users():
    """Rank 1 splits a Dropout's generator into a new one (the masks of its block of the
    global batch differ from rank 0's), and the generator the user gave, which the user may
    draw from too, stays as it was. Two layers that shared a generator share the new one."""
    from types import SimpleNamespace

    users = np.random.default_rng(5)
    before = users.bit_generator.state
    net = cr.nn.Sequential(
        cr.nn.Linear(2, 3, rng=0), cr.nn.Dropout(0.5, rng=users), cr.nn.Dropout(0.5, rng=users)
    )
    trainer = cr.train.Trainer(net, cr.nn.MSE(), cr.optim.SGD(net, lr=0.1), progress=False)
    trainer._world = SimpleNamespace(rank=1, size=2)
    trainer._split_dropout_generators()
    assert users.bit_generator.state == before
    assert net[1].rng is not users and net[1].rng is net[2].rng
    expected_seed = np.random.SeedSequence([int(np.random.default_rng(5).integers(2**63)), 1])
    expected = np.random.Generator(np.random.PCG64(expected_seed)).random(4)
    np.testing.assert_array_equal(net[1].rng.random(4), expected)
    trainer._split_dropout_generators()  # split once: a later fit keeps the rank's own
    assert net[1].rng is net[2].rng and users.bit_generator.state == before
    trainer._world = SimpleNamespace(rank=0, size=2)  # rank 0 keeps the user's generator
    net[1].rng = net[2].rng = users
    trainer._own_generators = []
    trainer._split_dropout_generators()
    assert net[1].rng is users and users.bit_generator.state == before


@needs_mpi
def test_parameters_replaced_between_fits_have_their_gradients_averaged(checked, tmp_path):
    """A reused trainer whose model got a new head (new Parameters) between two fits trains
    it as one process does (the averager of the first fit knew the old head only)."""
    _found(checked, "refit")
    weights = [dict(np.load(checked[1] / f"refit{r}.npz")) for r in range(RANKS)]
    _assert_replicas_identical(weights)
    _worker().refit_run(tmp_path)
    _assert_close(weights[0], dict(np.load(tmp_path / "refit0.npz")), 1e-9)


@needs_mpi
def test_each_rank_draws_its_own_dropout_masks(checked):
    """The blocks of one global batch get different masks; rank 0 draws what one process
    draws for the first rows (its generator is untouched)."""
    masks = [np.array(m) for m in _found(checked, "dropout masks")]
    assert len(masks) == RANKS and all(m.shape == (4, 6) for m in masks)
    for a in range(RANKS):
        for b in range(a + 1, RANKS):
            assert not np.array_equal(masks[a], masks[b]), (a, b)
    alone = np.array(_worker().first_dropout_masks()[0])
    assert np.array_equal(masks[0], alone[:4])


@needs_mpi
def test_a_parameter_frozen_on_one_rank_only_is_refused_at_the_start(checked):
    found = _found(checked, "frozen on one rank")
    assert found["epochs"] == 0
    assert "rank 1 has frozen parameters (requires_grad=False)=['0.bias']" in found["refused"]
