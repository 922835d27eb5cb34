"""``cr.set_grad_enabled(mode)``, PyTorch's switch: a block, a call that sets the mode from then
on, and a decorator. The oracle is torch itself: each scenario runs on both libraries and the
recording flags it reads must agree."""

import threading

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _nesting(lib):
    seen = []
    with lib.set_grad_enabled(False):
        seen.append(lib.is_grad_enabled())
        with lib.set_grad_enabled(True):
            seen.append(lib.is_grad_enabled())
        seen.append(lib.is_grad_enabled())
    seen.append(lib.is_grad_enabled())
    with lib.no_grad():
        with lib.set_grad_enabled(True):
            seen.append(lib.is_grad_enabled())
        seen.append(lib.is_grad_enabled())
    return seen


def _exception(lib):
    with pytest.raises(ValueError), lib.set_grad_enabled(False):
        raise ValueError("inside")
    return [lib.is_grad_enabled()]


def _call(lib):
    seen = []
    try:
        lib.set_grad_enabled(False)  # the call alone sets it, from then on
        seen.append(lib.is_grad_enabled())
        with lib.set_grad_enabled(True):
            seen.append(lib.is_grad_enabled())
        seen.append(lib.is_grad_enabled())  # back to what the block's call found: off
    finally:
        lib.set_grad_enabled(True)
    seen.append(lib.is_grad_enabled())
    return seen


def _decorator(lib):
    @lib.set_grad_enabled(False)
    def inside():
        return lib.is_grad_enabled()

    seen = [lib.is_grad_enabled(), inside(), lib.is_grad_enabled()]

    @lib.set_grad_enabled(False)
    def steps():
        yield lib.is_grad_enabled()
        yield lib.is_grad_enabled()

    it = steps()
    seen += [next(it), lib.is_grad_enabled(), next(it)]
    return seen


def _reused(lib):
    block, seen = lib.set_grad_enabled(False), []
    seen.append(lib.is_grad_enabled())
    for _ in range(2):
        with block:
            seen.append(lib.is_grad_enabled())
        seen.append(lib.is_grad_enabled())
    return seen


@pytest.mark.parametrize("scenario", [_nesting, _exception, _call, _decorator, _reused])
def test_set_grad_enabled_reads_as_torchs(scenario):
    assert scenario(cr) == scenario(torch)
    assert cr.is_grad_enabled()


@pytest.mark.parametrize("training", [True, False, np.bool_(False)])
def test_a_block_records_as_the_mode_says(training):
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.set_grad_enabled(training):
        y = (w * w).sum()
    assert y.requires_grad is bool(training)
    assert cr.is_grad_enabled()


def test_the_mode_is_this_threads():
    seen = []
    with cr.set_grad_enabled(False):
        thread = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


@pytest.mark.parametrize("mode", [1, None, "no"])
def test_a_mode_that_is_no_bool_is_refused(mode):
    with pytest.raises(TypeError, match=r"set_grad_enabled: mode must be True or False"):
        cr.set_grad_enabled(mode)
    assert cr.is_grad_enabled()


def test_it_is_exported_beside_no_grad():
    assert "set_grad_enabled" in cr.__all__
    assert cr.set_grad_enabled is cr.engine.set_grad_enabled
