"""Review 1 of s70's per-case losses and siamese fits: what its commits broke, fixed.

- A loss of one's own is the user's: its constructor is not wrapped, a cooperative mixin after
  ``nn.Loss`` (or ``nn.MSE``) gets its arguments again, an ``nn.Loss`` that is also an
  ``nn.Module`` builds, and a registered loss implementing ``reduction="none"`` itself saves
  and loads. chainrule's own losses still refuse ``reduction="none"`` naming ``per_case``.
- ``per_case`` of a loss of one's own gives a target that is no array of one row per case
  (None, a tuple, a dict) whole to each case, where it failed reading it as an array.
- ``accuracy`` of a regression set still refuses outputs that are not one row per case.
- ``evaluate`` names itself in its refusal of several outputs; CrossEntropy's refusals of 3-D
  logits and of one case's float label say what fits; the fit's messages count in English.

Oracles: closed forms computed with NumPy, the batch's own loss, the old messages.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, io, nn, optim, train
from chainrule.errors import DataError, TrainingDiverged, UserError
from chainrule.train.metrics import class_report

rng = np.random.default_rng(701)
OUT = rng.standard_normal((4, 3))
T = rng.standard_normal((4, 3))


class Scaled:
    """A cooperative mixin taking an option of its own."""

    def __init__(self, scale: float = 1.0, **rest) -> None:
        super().__init__(**rest)
        self.scale = scale


class MixedIn(nn.Loss, Scaled):
    def forward(self, output, target):
        error = output - cr.tensor(np.asarray(target, dtype=float))
        return self.scale * (error * error).sum(axis=1).mean()


class MixedInMSE(nn.MSE, Scaled):
    def forward(self, output, target):
        return self.scale * super().forward(output, target)


class Learned(nn.Loss, nn.Module):
    """A loss with a parameter of its own (a learned noise scale)."""

    def __init__(self) -> None:
        super().__init__()
        self.log_s = nn.Parameter(cr.tensor(np.zeros(1)))

    def forward(self, output, target):
        error = output - cr.tensor(np.asarray(target, dtype=float))
        return (error * error).mean() * cr.exp(self.log_s).sum()


class OwnNone(nn.Loss):
    """A loss that implements reduction="none" itself (registered by the test that saves it)."""

    name = "own-none-review1-s70"

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        self.delta, self.reduction = delta, reduction

    def forward(self, output, target):
        error = output - cr.tensor(np.asarray(target, dtype=float))
        cases = self.delta * (error * error).sum(axis=1)
        return cases if self.reduction == "none" else cases.mean()

    def config(self):
        return {"type": self.config_type(), "delta": self.delta, "reduction": self.reduction}


@pytest.mark.parametrize("cls", [MixedIn, MixedInMSE])
def test_a_cooperative_mixin_after_a_loss_gets_its_arguments(cls):
    assert cls(scale=2.0).scale == 2.0
    assert cls().scale == 1.0
    expected = 2.0 * (
        ((OUT - T) ** 2).sum(axis=1).mean() if cls is MixedIn else ((OUT - T) ** 2).mean()
    )
    assert cls(scale=2.0)(cr.tensor(OUT), T).item() == pytest.approx(expected, rel=1e-14)


def test_a_loss_that_is_also_a_module_builds_with_its_parameter():
    loss = Learned()
    assert list(dict(loss.named_parameters())) == ["log_s"]
    g = cr.grad(lambda s: nn.functional_call(loss, {"log_s": s}, cr.tensor(OUT), T))(
        cr.tensor(np.zeros(1))
    )
    assert g.numpy() == pytest.approx([((OUT - T) ** 2).mean()], rel=1e-14)


def test_a_registered_loss_of_one_s_own_with_reduction_none_saves_and_loads(tmp_path):
    loss = OwnNone(2.0, reduction="none")
    np.testing.assert_allclose(
        loss(cr.tensor(OUT), T).numpy(), 2.0 * ((OUT - T) ** 2).sum(axis=1), rtol=1e-14
    )
    model = nn.mlp([2, 3, 1], rng=0, dtype=np.float64)
    nn.register_loss(OwnNone)
    try:  # the registry is the process's: other tests list its names
        io.save_model(tmp_path / "m", model, loss=loss)
        _, info = io.load_model(tmp_path / "m")
        rebuilt = nn.loss_from_config(info["loss"])
        assert isinstance(rebuilt, OwnNone)
        assert (rebuilt.delta, rebuilt.reduction) == (2.0, "none")
        assert nn.loss_from_name(OwnNone.name, reduction="none").reduction == "none"
    finally:
        del nn.losses.LOSSES[OwnNone.name]


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.MSE(reduction="none"),
        lambda: nn.CrossEntropy(reduction="none"),
        lambda: nn.BinaryCrossEntropy(reduction="none"),
        lambda: nn.MarginSquaredError(0.9, reduction="none"),
        lambda: nn.SquaredError("none"),
        lambda: MixedInMSE(reduction="none"),  # chainrule's constructor builds it
        lambda: nn.loss_from_name("cross_entropy", reduction="none"),
    ],
)
def test_chainrule_s_own_losses_still_refuse_reduction_none_naming_per_case(make):
    with pytest.raises(nn.ConfigError, match=r"reduction='none'.*loss\.per_case\(output, target\)"):
        make()


def test_other_arguments_to_chainrule_s_losses_are_python_s_refusals():
    for cls in (nn.MSE, nn.CrossEntropy):
        name = cls.__name__
        with pytest.raises(TypeError, match=rf"^{name}\(\) takes no arguments$"):
            cls(foo=1)
        with pytest.raises(TypeError, match=rf"^{name}\(\) takes no arguments$"):
            cls(1)
        assert str(inspect.signature(cls)) == "()"
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        nn.BinaryCrossEntropy(foo=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        nn.MarginSquaredError(foo=1)
    with pytest.raises(nn.ConfigError, match=r"takes no option 'foo' \(its options: per_unit\)"):
        nn.loss_from_name("binary-cross-entropy", foo=1)
    with pytest.raises(nn.ConfigError, match=r"takes no option 'foo' \(CrossEntropy\(\) takes no"):
        nn.loss_from_name("cross-entropy", foo=1)


# ---------------------------------------------------------------------------------------------
# per_case of a loss of one's own: a target that is no array of one row per case
# ---------------------------------------------------------------------------------------------


class Reconstruction(nn.Loss):
    """An autoencoder's loss whose forward reads no target."""

    def forward(self, output, target):
        return (output * output).sum(axis=1).mean()


class ScaledOffset(nn.Loss):
    """A target of two numbers, (scale, offset), shared by every case."""

    def forward(self, output, target):
        scale, offset = target
        error = output - offset
        return scale * (error * error).sum(axis=1).mean()


class Weighted(nn.Loss):
    """A target (y, weights) of one row and one weight per case, read together."""

    def forward(self, output, target):
        y, w = target
        error = output - cr.tensor(np.asarray(y, dtype=float))
        return ((error * error).sum(axis=1) * cr.tensor(np.asarray(w, dtype=float))).mean()


@pytest.mark.parametrize("target", [None, {"x": 1}])
def test_per_case_gives_a_target_that_is_no_array_whole_to_each_case(target):
    per_case = Reconstruction().per_case(cr.tensor(OUT), target)
    np.testing.assert_allclose(per_case.numpy(), (OUT * OUT).sum(axis=1), rtol=1e-14)


def test_per_case_gives_a_tuple_whole_to_each_case_however_many_cases():
    two = OUT[:2]  # two cases beside a tuple of two numbers: not one number per case
    per_case = ScaledOffset().per_case(cr.tensor(two), (3.0, 0.5))
    np.testing.assert_allclose(per_case.numpy(), 3.0 * ((two - 0.5) ** 2).sum(axis=1), rtol=1e-14)


def test_per_case_of_a_tuple_of_rows_is_refused_naming_per_case():
    """(y, weights) given whole to each case's forward is not that case's loss: the check
    against E refuses it, saying the target was given whole and to define per_case."""
    target = (T, np.arange(1.0, 5.0))
    with pytest.raises(UserError, match=r"Weighted\.per_case: .*given whole to each case"):
        Weighted().per_case(cr.tensor(OUT), target)


# ---------------------------------------------------------------------------------------------
# accuracy, evaluate, the fit's messages
# ---------------------------------------------------------------------------------------------


def regression(n: int = 5) -> data.Dataset:
    r = np.random.default_rng(3)
    return data.Dataset(X=r.standard_normal((n, 3)), y=np.zeros((n, 2)), task="regression")


@pytest.mark.parametrize("function", [train.accuracy, class_report])
def test_a_regression_set_refuses_outputs_that_are_not_one_row_per_case(function):
    ds = regression()
    with pytest.raises(
        DataError, match=r"outputs must have one row per case \(5\), got shape \(3, 2\)"
    ):
        function(np.zeros((3, 2)), ds)
    with pytest.raises(DataError, match=r"one row per case \(5\), got shape \(\)"):
        function(np.float64(0.0), ds)
    assert function(np.zeros((5, 2, 4)), ds) is None  # any shape of each case's outputs


def test_evaluate_names_itself_refusing_several_outputs():
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Linear(3, 2, dtype="float64", rng=0)

        def forward(self, x):
            return self.layer(x), self.layer(x)

    with pytest.raises(UserError) as refusal:
        train.evaluate(Two(), nn.MSE(), regression())
    assert str(refusal.value).startswith("evaluate: the model's forward returned a tuple of 2 ")


def test_multilabel_width_refusal_counts_in_english_after_the_set_s_name():
    r = np.random.default_rng(4)
    ds = data.Dataset(
        X=r.standard_normal((8, 3)), y=(r.random((8, 1)) > 0.5).astype(float), task="multilabel"
    )
    model = nn.mlp([3, 2], rng=0, dtype=np.float64)
    with pytest.raises(DataError) as refusal:
        train.fit(model, nn.BinaryCrossEntropy(), optim.SGD(model.parameters(), lr=0.1), ds,
                  epochs=1, progress=False)  # fmt: skip
    said = str(refusal.value)
    assert said.startswith(
        "fit: the training set (train_ds): the multilabel targets have 1 column "
        "(one per label) but the network has 2 output units; give it 1 output unit, one per label"
    ), said


def test_one_dimensional_outputs_are_shown_as_a_tuple_of_one():
    class Flat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Linear(3, 1, dtype="float64", rng=0)

        def forward(self, x):
            return self.layer(x).reshape(-1)

    r = np.random.default_rng(5)
    ds = data.Dataset(X=r.standard_normal((6, 3)), y=r.integers(0, 2, 6), task="classification")
    model = Flat()
    with pytest.raises(DataError, match=r"outputs of shape \(n,\) for n cases"):
        train.fit(model, nn.BinaryCrossEntropy(), optim.SGD(model.parameters(), lr=0.1), ds,
                  epochs=1, progress=False)  # fmt: skip


def test_the_diverged_message_says_at_any_learning_rate():
    class NaNLoss(nn.Loss):
        def forward(self, output, target):
            return (output * float("nan")).mean()

    model = nn.mlp([3, 2], rng=0, dtype=np.float64)
    with pytest.raises(TrainingDiverged) as diverged, np.errstate(invalid="ignore"):
        train.fit(model, NaNLoss(), optim.SGD(model.parameters(), lr=0.1), regression(),
                  epochs=1, progress=False)  # fmt: skip
    assert "and so does, at any learning rate, an op whose derivative" in str(diverged.value)


# ---------------------------------------------------------------------------------------------
# CrossEntropy: logits of more axes, one case's float label
# ---------------------------------------------------------------------------------------------


def test_cross_entropy_of_3d_logits_says_torch_s_layout_is_not_taken():
    with pytest.raises(cr.ShapeError) as refusal:
        nn.CrossEntropy()(cr.tensor(np.zeros((2, 3, 4))), np.zeros((2, 4), dtype=np.int64))
    said = str(refusal.value)
    assert said.startswith(
        "CrossEntropy: logits must have shape (n_cases, n_classes), not (2, 3, 4)"
    )
    assert "PyTorch's (N, C, d1, ...) layout" in said and "reshape" in said, said
    assert "X[:1]" not in said, said  # one case as a batch of one is no answer here
    with pytest.raises(cr.ShapeError) as refusal:
        nn.CrossEntropy()(cr.tensor(np.float64(0.5)), 0)
    assert "X[:1]" not in str(refusal.value)


@pytest.mark.parametrize("label", [1.0, np.array(1.0), cr.tensor(1.0)])
def test_one_case_s_float_label_is_refused_as_a_batch_s_float_labels_are(label):
    """A batch refuses float labels (torch too): one unbatched case does the same, saying
    the label must be an integer, not that the logits' shape is wrong."""
    z = cr.tensor(np.array([0.1, 0.5, -0.2]))
    with pytest.raises(cr.ShapeError, match="give class labels as integers"):
        nn.CrossEntropy()(z.reshape(1, 3), np.array([1.0]))
    with pytest.raises(cr.ShapeError) as refusal:
        nn.CrossEntropy()(z, label)
    said = str(refusal.value)
    assert "must be an integer, not float64" in said and "X[:1]" not in said, said
    assert nn.CrossEntropy()(z, 1).item() == pytest.approx(
        -np.log(np.exp(0.5) / np.exp([0.1, 0.5, -0.2]).sum()), rel=1e-14
    )
