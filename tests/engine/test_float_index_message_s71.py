"""A float index array's refusal says first what to write, then the fit cause as one possibility.

``logp[np.arange(4), np.array([0., 1., 1., 0.])]`` (actions a REINFORCE loop kept as floats)
raised an IndexError whose first words explained chainrule.train's fit casting a dataset's
inputs to the model's float dtype (an embedding lookup inside fit), before the useful part.
Now it opens with NumPy's words (index arrays must be integers), the cast, and then "if it
came through fit" (NumPy's words first keep every library's key refusal in them, test_seam_qa_s52).
The oracle that a float index is a mistake: PyTorch refuses it too.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _message(key) -> str:
    logp = cr.log_softmax(cr.tensor(np.zeros((4, 2)), requires_grad=True), axis=-1)
    with pytest.raises(IndexError) as caught:
        logp[np.arange(4), key]
    return str(caught.value)


def test_whole_number_floats_are_met_first_by_the_cast_then_by_the_fit_cause():
    message = _message(np.array([0.0, 1.0, 1.0, 0.0]))
    key = "(array([0, 1, 2, 3]), array([0., 1., 1., 0.]))"
    head = f"getitem: index {key} does not fit shape (4, 2): "
    assert message.startswith(head + "arrays used as indices must be of integer"), message
    assert "float64 array of shape (4,)" in message
    cast = message.index("cast it with .astype('int64')")
    fit = message.index("If it came through chainrule.train's fit or predict")
    assert cast < fit, message
    assert "\n" not in message


def test_fractional_floats_are_not_offered_a_cast():
    message = _message(np.array([0.5, 1.0, 1.0, 0.0]))
    assert "arrays used as indices must be of integer (or boolean) type, and it" in message
    assert "astype" not in message and "fit" not in message.split("does not fit", 1)[1]


def test_torch_refuses_a_float_index_too_and_integers_give_the_rows():
    torch = pytest.importorskip("torch")
    with pytest.raises(IndexError):
        torch.zeros(4, 2)[torch.arange(4), torch.tensor([0.0, 1.0, 1.0, 0.0])]
    actions = np.array([0.0, 1.0, 1.0, 0.0]).astype("int64")  # what the message says to write
    logits = np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5], [-3.0, 1.0]])
    x = cr.tensor(logits, requires_grad=True)
    cr.log_softmax(x, axis=-1)[np.arange(4), actions].sum().backward()
    t = torch.tensor(logits, requires_grad=True)
    torch.log_softmax(t, dim=-1)[torch.arange(4), torch.tensor(actions)].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
