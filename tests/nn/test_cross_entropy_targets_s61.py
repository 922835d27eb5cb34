"""``nn.CrossEntropy()(z, t)`` and ``cr.softmax_cross_entropy(z, t)`` read targets one way, as
PyTorch's ``cross_entropy`` reads them: integers are class labels (the logits' shape without the
class axis), real floats are probability rows (the logits' shape). The module took integer
one-hot rows, float labels and booleans (labels and one-hot rows) that the op refused, or read
otherwise (the op took boolean one-hot rows, refused boolean labels). The oracle for which kinds
are read: PyTorch itself, whose values and gradients the accepted kinds match; each refusal is one
message naming the op or the module, the target's shape and dtype, and the cast that fits."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

rng = np.random.default_rng(61)
Z = rng.normal(size=(4, 3))
LABELS = np.array([2, 0, 1, 2])
SOFT = rng.dirichlet(np.ones(3), size=4)

#: every kind of target, against logits of shape (4, 3)
KINDS = {
    "int64 labels": LABELS,
    "uint8 labels": LABELS.astype(np.uint8),
    "float one-hot rows": np.eye(3)[LABELS],
    "float probabilities": SOFT,
    "int one-hot rows": np.eye(3, dtype=np.int64)[LABELS],
    "float labels": LABELS.astype(np.float64),
    "bool labels": LABELS == 2,
    "bool one-hot rows": np.eye(3, dtype=bool)[LABELS],
    "a column of labels": LABELS[:, None],
    "one label": np.array(2),
    "rows of rank 3": np.eye(3)[LABELS][:, :, None],
    "too few labels": LABELS[:3],
}


def _op(z, t):
    return cr.softmax_cross_entropy(z, t)


def _module(z, t):
    return nn.CrossEntropy()(z, t)


#: integers PyTorch refuses (it takes int64 and uint8 alone) that are class labels all the same:
#: read as PyTorch reads the same labels as int64
WIDENED = {"int32 labels": LABELS.astype(np.int32), "int8 labels": LABELS.astype(np.int8)}


def _torch_reading(torch, t, differentiated=False):
    """PyTorch's loss, dE/dz (and dE/dt for targets that need a gradient) for the targets
    ``t``, or None where it refuses them."""
    z = torch.tensor(Z, requires_grad=True)
    targets = torch.tensor(np.array(t), requires_grad=differentiated)
    try:
        E = torch.nn.functional.cross_entropy(z, targets)
    except (RuntimeError, ValueError, IndexError):
        return None
    E.backward()
    return E.item(), z.grad.numpy(), targets.grad.numpy() if differentiated else None


def _reading(loss, t, differentiated=False):
    """The loss's value and gradients as :func:`_torch_reading` gives them, or the error."""
    z, targets = cr.tensor(Z, requires_grad=True), t
    if differentiated:
        targets = cr.tensor(t, requires_grad=True)
    try:
        E = loss(z, targets)
    except (cr.ShapeError, TypeError) as refused:
        return refused
    E.backward()
    return E.item(), z.grad.numpy(), targets.grad.numpy() if differentiated else None


@pytest.mark.parametrize("loss", [_op, _module], ids=["op", "module"])
def test_each_kind_of_target_is_read_as_torch_reads_it(torch, loss):
    """Where PyTorch reads the targets, both give its loss and gradients (soft targets that need
    a gradient get dE/dt too); where it refuses them, both refuse them (a ShapeError for a
    shape that fits no form of its dtype, a TypeError for booleans). Integers of other widths
    are labels, as PyTorch reads them as int64."""
    cases = [(kind, t, t, False) for kind, t in KINDS.items()]
    cases += [(kind, t, LABELS, False) for kind, t in WIDENED.items()]
    cases.append(("probabilities that need a gradient", SOFT, SOFT, True))
    misread = []
    for kind, t, theirs, differentiated in cases:
        got, want = _reading(loss, t, differentiated), _torch_reading(torch, theirs, differentiated)
        if want is None or isinstance(got, Exception):
            if want is not None or not isinstance(got, Exception):
                misread.append(f"{kind}: {got if want is None else 'refused'}")
            continue
        for mine, torchs in zip(got, want):
            if torchs is not None and not np.allclose(mine, torchs, rtol=1e-12, atol=1e-15):
                misread.append(f"{kind}: {mine} != {torchs}")
    assert not misread, misread


RULE = "class labels are integers, probabilities floats"
CAST = "booleans are neither: cast them, to integers for labels or to floats for rows"
COLUMN = "(a column of labels: flatten it to one label per case)"
#: kind -> (the error, the words after the common part that say what to do)
REFUSALS = {
    "int one-hot rows": (cr.ShapeError, f"{RULE}: give one-hot rows as floats"),
    "float labels": (cr.ShapeError, f"{RULE}: give class labels as integers"),
    "bool labels": (TypeError, CAST),
    "bool one-hot rows": (TypeError, CAST),
    "a column of labels": (cr.ShapeError, COLUMN),
    "one label": (cr.ShapeError, RULE),
    "rows of rank 3": (cr.ShapeError, RULE),
    "too few labels": (cr.ShapeError, RULE),
}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_a_refusal_is_one_message_naming_the_caller_the_shape_and_the_dtype(kind):
    t = KINDS[kind]
    error, advice = REFUSALS[kind]
    messages = []
    for name, loss in (("softmax_cross_entropy", _op), ("CrossEntropy", _module)):
        with pytest.raises(error) as refused:
            loss(cr.tensor(Z), t)
        message = str(refused.value)
        head = (
            f"{name}: a target of shape {t.shape} and dtype {t.dtype} does not fit logits of "
            "shape (4, 3): expected labels (4,) or probabilities (4, 3)"
        )
        assert message.startswith(head), message
        assert advice in message and "\n" not in message, message
        messages.append(message.removeprefix(f"{name}: "))
    assert messages[0] == messages[1]  # one message, from one home


def test_torch_tensors_are_read_alike_on_torch(torch):
    """Targets of another library (here with logits on torch) are read by the same rule: its
    integer labels and float rows give NumPy's loss; its booleans and integer rows are refused,
    by the op and the module alike."""
    z = cr.tensor(Z, xp=torch)
    want = _op(cr.tensor(Z), LABELS).item()
    for loss in (_op, _module):
        assert loss(z, torch.from_numpy(LABELS)).item() == pytest.approx(want, rel=1e-14)
        rows = torch.from_numpy(np.eye(3)[LABELS])
        assert loss(z, rows).item() == pytest.approx(want, rel=1e-14)
        with pytest.raises(TypeError, match=re.escape("shape (4,) and dtype bool")):
            loss(z, torch.from_numpy(LABELS == 2))
        with pytest.raises(cr.ShapeError, match="give one-hot rows as floats"):
            loss(z, torch.from_numpy(np.eye(3, dtype=np.int64)[LABELS]))
