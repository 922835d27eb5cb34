"""gradcheck on a library without float64 copies the inputs to the host; an f holding that
library's own arrays (a model moved there) then failed with the library-mixing error that blamed
the caller (float32 QA, stop 54). It is refused naming the host copy and the ways out."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.backend import ArrayLibraryError


def test_a_model_on_jax_without_float64_is_refused_naming_the_host_copy(jnp_without_x64):
    jnp = jnp_without_x64
    net = nn.mlp([3, 2], output=None, rng=0).to(xp=jnp)
    x = jnp.asarray(np.array([[0.5, -0.25, 1.0]], np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the host-copy warning, which says the same first
        with pytest.raises(
            ArrayLibraryError, match=r"^gradcheck: the inputs were copied to the host"
        ) as refused:
            cr.gradcheck(lambda v: cr.sum(net(v)), (x,))
    assert "jax_enable_x64" in str(refused.value) and "as inputs" in str(refused.value)


def test_an_f_of_its_inputs_alone_is_still_checked_on_the_host(jnp_without_x64):
    """Guard (passes before and after): with nothing of its own on JAX, f runs on the copy, and
    the check compares with central differences there."""
    jnp = jnp_without_x64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = cr.gradcheck(lambda v: cr.sum(v * v * v), (jnp.asarray([0.5, -1.25]),))
    assert report.ok


def test_a_mix_of_other_libraries_in_f_keeps_its_own_words(jnp_without_x64, torch):
    """A torch constant beside a JAX input moved to the host is f's own mix: turning float64 on
    in JAX would not mend it, so the library-mixing error stands (review, stop 54)."""
    jnp = jnp_without_x64
    constant = cr.tensor(torch.ones(2, dtype=torch.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ArrayLibraryError, match=r"^mul: an operand of numpy and one of torch"):
            cr.gradcheck(lambda v: cr.sum(v * constant), (jnp.asarray([0.5, 0.25]),))
