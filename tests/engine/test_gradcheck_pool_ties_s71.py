"""A failed ``cr.gradcheck`` at a tie of a max or min reduction (max-pooling a reshaped image)
says so in its ``note``, as it does for relu at 0 and maximum at a tie: where three or more
entries of a window tie for its max, the central difference along one of them is
(eps - 0) / 2 eps = 1/2 (closed form), while the rule splits the gradient equally (1/3 each,
as torch.amax does); the note names the op and the tied entries, and only those."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import REGISTRY, primitive

STRADDLES = "not differentiable there; the finite difference straddles the kink"
MAX_TIE = "'max' (kink where entries it reduces tie for the max)"
MIN_TIE = "'min' (kink where entries it reduces tie for the min)"


def _pool(x):
    """2x2 max-pooling of a 4x4 image, as a conv net built by hand writes it."""
    return x.reshape(2, 2, 2, 2).max(axis=(1, 3))


WEIGHTS = np.array([[1.0, -2.0], [0.5, 3.0]])


def _image(tied: bool) -> np.ndarray:
    image = np.arange(16.0).reshape(4, 4) / 16.0  # every window's max is its own entry
    if tied:  # window (0, 0): three entries tie for its max
        image[0, 0] = image[0, 1] = image[1, 0] = 0.9
    return image


def test_a_max_pool_window_with_tied_entries_fails_naming_those_entries() -> None:
    report = cr.gradcheck(lambda x: (_pool(x) * WEIGHTS).sum(), [_image(tied=True)])
    assert not report.ok
    # the difference along each tied entry is weight / 2, the rule's share weight / 3
    numeric = {m.where: m.numeric for m in report.failures()}
    assert numeric == pytest.approx(
        {f"d out / d input 0[{r}, {c}]": 0.5 for r, c in [(0, 0), (0, 1), (1, 0)]}
    )
    # image entry (2i + a, 2j + b) is the reshaped input's [i, a, j, b]
    assert (
        f"{MAX_TIE} at its input (computed in f) [0, 0, 0, 0] = 0.9, [0, 0, 0, 1] = 0.9, "
        "[0, 1, 0, 0] = 0.9:" in report.note
    ), report.note
    assert STRADDLES in report.note


def test_untied_max_pool_windows_pass_and_say_nothing() -> None:
    report = cr.gradcheck(lambda x: (_pool(x) * WEIGHTS).sum(), [_image(tied=False)])
    assert report.ok and report.note == ""


def test_a_failure_beside_untied_windows_does_not_name_the_max() -> None:
    """A wrong rule fails the check; the untied max-pool beside it is not named."""
    name = "qa_wrong_square_pool_s71"
    wrong_square = REGISTRY.get(name) or primitive(name, lambda x: x * x, lambda g, out, x: g * x)
    report = cr.gradcheck(
        lambda x: (_pool(wrong_square(x)) * WEIGHTS).sum(), [_image(tied=False) + 0.1]
    )
    assert not report.ok
    assert "'max'" not in report.note and "kink" not in report.note


# each named list ends at its ":": the entries not tied are not named
@pytest.mark.parametrize(
    ("reduce", "rows", "named"),
    [
        (
            lambda x: cr.max(x, axis=1).sum(),
            [[3.0, 3.0, 3.0, 1.0], [1.0, 2.0, 4.0, 0.0]],
            f"{MAX_TIE} at input 0[0, 0] = 3, input 0[0, 1] = 3, input 0[0, 2] = 3:",
        ),
        (
            lambda x: cr.min(x, axis=0).sum(),
            [[1.0, 5.0], [1.0, 2.0], [1.0, 7.0]],
            f"{MIN_TIE} at input 0[0, 0] = 1, input 0[1, 0] = 1, input 0[2, 0] = 1:",
        ),
        # within the step of a tie: the difference along entry 1 is (eps - 3e-7) / 2 eps
        (
            lambda x: cr.max(x).sum(),
            [1.0, 1.0 + 3e-7, 0.0],
            f"{MAX_TIE} at input 0[0] = 1, input 0[1] = 1:",
        ),
    ],
)
def test_a_tie_of_a_reduction_over_the_inputs_names_the_tied_entries(reduce, rows, named) -> None:
    report = cr.gradcheck(reduce, [rows])
    assert not report.ok
    assert named in report.note, report.note
    assert STRADDLES in report.note


def test_a_tie_the_step_crosses_after_a_gain_is_named() -> None:
    """max(100 x) with x[1] 5e-8 above x[0]: the tie is 5e-6 away in max's input, beyond
    4 eps, but a step eps along x[0] moves it 1e-4 and passes x[1], so the difference along
    x[0] is (1e-4 - 5e-6) / 2e-6 = 47.5 against the rule's 0; the note names the max."""
    report = cr.gradcheck(lambda x: cr.max(x * 100.0), [[0.0, 5e-8, -1.0]])
    assert not report.ok
    numeric = {m.where: m.numeric for m in report.failures()}
    assert numeric["d out / d input 0[0]"] == pytest.approx(47.5, rel=1e-6)
    assert f"{MAX_TIE} at its input (computed in f) [0] = 0, [1] = 5e-06:" in report.note


def test_max_pool_ties_against_torch_as_the_readme_says() -> None:
    """The README: a max over windows splits a tied window's gradient as torch.amax does, where
    F.max_pool2d sends it to one entry; the input's gradient differs there, a weight after the
    pooling gets the same gradient."""
    torch = pytest.importorskip("torch")
    image = _image(tied=True)
    x = cr.tensor(image, requires_grad=True)
    w = cr.tensor(WEIGHTS, requires_grad=True)
    dx, dw = cr.gradient((_pool(x) * w).sum(), [x, w])

    def torch_grads(pool):
        tx = torch.tensor(image, requires_grad=True)
        tw = torch.tensor(WEIGHTS, requires_grad=True)
        (pool(tx) * tw).sum().backward()
        return tx.grad.numpy(), tw.grad.numpy()

    amax_dx, amax_dw = torch_grads(lambda t: torch.amax(t.reshape(2, 2, 2, 2), dim=(1, 3)))
    pool_dx, pool_dw = torch_grads(lambda t: torch.nn.functional.max_pool2d(t[None], 2)[0])
    np.testing.assert_allclose(dx.numpy(), amax_dx, rtol=1e-12)
    np.testing.assert_allclose(dw.numpy(), amax_dw, rtol=1e-12)
    np.testing.assert_allclose(dw.numpy(), pool_dw, rtol=1e-12)
    assert dx.numpy()[0, 0] == pytest.approx(1 / 3) and pool_dx[:2, :2].max() == 1.0
    assert not np.allclose(dx.numpy(), pool_dx)
    untied = ~np.isin(np.arange(16).reshape(4, 4), [0, 1, 4, 5])
    np.testing.assert_allclose(dx.numpy()[untied], pool_dx[untied], rtol=1e-12)
