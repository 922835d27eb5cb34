"""``p.data = w`` with a torch tensor that requires grad (``lin.weight.data = tl.weight.T`` on a
torch-backed model) is refused with the ArrayLibraryError ``cr.tensor(w)`` gives for it. It was
taken: the optimizer's in-place step then failed in torch's words ("a leaf Variable that requires
grad is being used in an in-place operation"), and a non-leaf made every forward record a torch
graph beside chainrule's."""

import pytest

import chainrule as cr
from chainrule import nn
from chainrule.backend import ArrayLibraryError


@pytest.mark.parametrize("make", ["leaf-view", "non-leaf"])
def test_a_torch_tensor_that_requires_grad_is_refused_as_cr_tensor_refuses_it(torch, make):
    tl = torch.nn.Linear(2, 2)
    value = tl.weight.T if make == "leaf-view" else tl.weight.T * 1
    with pytest.raises(ArrayLibraryError) as by_tensor:
        cr.tensor(value)
    lin = nn.Linear(2, 2).to(xp=torch)
    before = lin.weight.data
    with pytest.raises(ArrayLibraryError) as by_setter:
        lin.weight.data = value
    assert str(by_setter.value) == str(by_tensor.value)
    assert lin.weight.data is before  # nothing stored
    # detached, it is taken and trains: the step the refusal's advice leads to
    lin.weight.data = value.detach().clone()
    opt = cr.optim.SGD(lin.parameters(), lr=0.1)
    x = torch.tensor([[1.0, 1.0]])
    out = lin(x)
    assert not out.data.requires_grad  # no torch graph recorded beside chainrule's
    (out**2).sum().backward()
    opt.step()
    assert tl.weight.grad is None
