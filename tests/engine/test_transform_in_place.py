"""``x += 1`` on the variable a transform differentiates is refused with advice that keeps the
derivative right (x = x + 1), not the parameter's advice (no_grad), which would leave the
update out of the derivative."""

import numpy as np
import pytest

import chainrule as cr


def shifted_square(x):
    x += 1.0
    return (x * x).sum()


@pytest.mark.parametrize(
    "transform",
    [
        lambda f, x: cr.grad(f)(x),
        lambda f, x: cr.vjp(f, x),
        lambda f, x: cr.jvp(f, (x,), (np.ones(2),)),
    ],
    ids=["grad", "vjp", "jvp"],
)
def test_an_in_place_update_of_a_transforms_variable_says_what_to_write(transform):
    with pytest.raises(RuntimeError, match=r"the argument a transform .* write x = x \+") as error:
        transform(shifted_square, cr.tensor([1.0, 2.0]))
    assert "no_grad" not in str(error.value)


def test_the_advice_gives_the_derivative_and_a_parameter_keeps_its_message():
    advised = cr.grad(lambda x: ((x + 1.0) * (x + 1.0)).sum())(cr.tensor([1.0, 2.0]))
    np.testing.assert_allclose(advised.numpy(), [4.0, 6.0])  # 2 (x + 1)
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a parameter.*no_grad"):
        w += 1.0
