"""A Parallel's submodules are its one list of branches.

``setattr(par, "0", m)`` changed ``children()`` and ``parameters()`` but not the list of branches
``forward`` ran, so the network trained one set of weights and computed with another. The oracle
is the replaced branch run by hand on its block of columns.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.errors import ConfigError


def _parallel():
    return nn.Parallel((2, nn.Linear(2, 1, rng=0)), (3, nn.Linear(3, 2, rng=1)))


@pytest.mark.parametrize("replace", ["setattr", "setitem"])
def test_a_replaced_branch_is_the_one_forward_runs(replace) -> None:
    par, new = _parallel(), nn.Linear(2, 1, rng=7)
    if replace == "setattr":
        setattr(par, "0", new)
    else:
        par[0] = new
    x = np.arange(10.0).reshape(2, 5) / 10
    expected = np.concatenate([new(x[:, :2]).numpy(), par[1](x[:, 2:]).numpy()], axis=1)
    np.testing.assert_allclose(par(x).numpy(), expected, rtol=1e-15)
    assert par.branches[0] is new
    assert any(p is new.weight for p in par.parameters())
    assert list(par.state_dict())[:2] == ["0.weight", "0.bias"]  # its place kept


def test_a_branch_cannot_be_added_without_a_width() -> None:
    par = _parallel()
    with pytest.raises(ConfigError, match=r"cannot add a branch '2' to 2 branches"):
        setattr(par, "2", nn.Linear(1, 1))
    assert len(par) == 2


def test_a_branch_set_to_a_non_module_is_refused() -> None:
    with pytest.raises(TypeError, match=r"branch 0 must be a Module, not numpy.ndarray"):
        _parallel()[0] = np.eye(2)


def test_a_branch_cannot_be_removed_and_indices_are_positions() -> None:
    """``delattr(par, "0")`` left widths (2, 2) with one branch, which read columns 0-1."""
    par = _parallel()
    with pytest.raises(ConfigError, match=r"cannot remove branch '0'"):
        delattr(par, "0")
    with pytest.raises(ConfigError, match=r"cannot remove branch '1'"):
        del par[1]
    with pytest.raises(IndexError, match=r"Parallel: index 2 is out of range for 2 branches"):
        par[2] = nn.Linear(1, 1)
    with pytest.raises(TypeError):
        par[0:1] = nn.Linear(2, 1)
    par[-1] = new = nn.Linear(3, 2, rng=9)
    assert par.branches[1] is new and len(par) == 2
