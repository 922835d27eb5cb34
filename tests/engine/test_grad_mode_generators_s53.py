"""``@no_grad()`` and ``@enable_grad()`` on a generator function: calling one only makes the
generator, so the block around the call ended before the body ran and every op of it was
recorded (a streaming predictor kept each batch's graph). Each resume now runs with recording
as set, and between resumes the caller's own setting holds, as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

W = np.arange(6.0).reshape(3, 2) / 10


def test_a_no_grad_generator_records_nothing_in_its_body() -> None:
    w = cr.tensor(W, requires_grad=True)

    @cr.no_grad()
    def stream(batches):
        for batch in batches:
            yield cr.tensor(batch) @ w

    outs = list(stream([np.ones((2, 3)), np.ones((1, 3))]))
    assert [out.requires_grad for out in outs] == [False, False]

    @torch.no_grad()
    def torch_stream(batches):
        for batch in batches:
            yield torch.tensor(batch) @ torch.tensor(W, requires_grad=True)

    assert [out.requires_grad for out in torch_stream([np.ones((2, 3))])] == [False]


def test_between_resumes_the_callers_setting_holds() -> None:
    seen = []

    @cr.no_grad()
    def inside():
        seen.append(cr.is_grad_enabled())
        yield 1
        seen.append(cr.is_grad_enabled())
        yield 2

    generator = inside()
    next(generator)
    seen.append(("caller", cr.is_grad_enabled()))
    next(generator)
    assert seen == [False, ("caller", True), False]
    assert cr.is_grad_enabled()


def test_enable_grad_generator_records_inside_no_grad() -> None:
    w = cr.tensor(W, requires_grad=True)

    @cr.enable_grad()
    def recorded():
        yield (w * 2.0).sum()

    with cr.no_grad():
        (out,) = list(recorded())
        assert not cr.is_grad_enabled()
    out.backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 2), 2.0))


def test_send_throw_close_and_return_reach_the_body() -> None:
    log = []

    @cr.no_grad()
    def echo():
        try:
            while True:
                try:
                    received = yield
                    log.append((received, cr.is_grad_enabled()))
                except ValueError as error:
                    log.append(("caught", str(error), cr.is_grad_enabled()))
        finally:
            log.append(("closed", cr.is_grad_enabled()))

    generator = echo()
    next(generator)
    generator.send("a")
    generator.throw(ValueError("b"))
    generator.close()
    assert log == [("a", False), ("caught", "b", False), ("closed", False)]

    @cr.no_grad()
    def returns():
        yield 1
        return "done"

    generator = returns()
    next(generator)
    with pytest.raises(StopIteration) as stop:
        next(generator)
    assert stop.value.value == "done"
    assert cr.is_grad_enabled()


def test_an_error_in_the_body_restores_recording() -> None:
    @cr.no_grad()
    def fails():
        yield 1
        raise KeyError("x")

    generator = fails()
    next(generator)
    with pytest.raises(KeyError):
        next(generator)
    assert cr.is_grad_enabled()


def test_a_block_open_in_the_paused_body_leaves_the_callers_setting() -> None:
    """The body pauses inside its own enable_grad block: restoring the caller's setting by the
    per-thread stack of blocks restored the body's entry, so the caller ran with recording off."""
    w = cr.tensor(W, requires_grad=True)

    @cr.no_grad()
    def saliency(batches):
        for batch in batches:
            with cr.enable_grad():
                x = cr.tensor(batch, requires_grad=True)
                (g,) = cr.gradient((x @ w).sum(), [x])
                yield g

    seen = []
    for g in saliency([np.ones((1, 3))] * 2):
        seen.append((cr.is_grad_enabled(), (w * 2.0).requires_grad))
        np.testing.assert_allclose(g.numpy(), W.sum(axis=1)[None, :])
    assert seen == [(True, True), (True, True)]

    @torch.no_grad()
    def torch_saliency(batches):
        for batch in batches:
            with torch.enable_grad():
                yield torch.tensor(batch, requires_grad=True).sum()

    assert [torch.is_grad_enabled() for _ in torch_saliency([np.ones(2)] * 2)] == [True, True]


def _paused_inside_its_own_block():
    @cr.no_grad()
    def body():
        with cr.enable_grad():
            yield cr.is_grad_enabled()
        yield cr.is_grad_enabled()

    return body()


def test_blocks_that_do_not_nest_each_restore_their_own_setting() -> None:
    """The caller opens a block between a resume that paused inside the body's block and the
    next: with one stack per thread, each exit took the other's entry, and recording stayed off
    for the rest of the thread."""
    generator = _paused_inside_its_own_block()
    assert next(generator) is True
    with cr.no_grad():
        assert next(generator) is False
    assert cr.is_grad_enabled()
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert (x * x).sum().requires_grad

    @torch.no_grad()
    def torch_body():
        with torch.enable_grad():
            yield torch.is_grad_enabled()
        yield torch.is_grad_enabled()

    same = torch_body()
    next(same)
    with torch.no_grad():
        assert next(same) is False
    assert torch.is_grad_enabled()


def test_a_generator_resumed_on_another_thread_finishes_its_block() -> None:
    """Its block's exit on a thread that never entered one raised AttributeError."""
    import threading

    generator = _paused_inside_its_own_block()
    next(generator)
    got = {}
    worker = threading.Thread(target=lambda: got.update(value=next(generator)))
    worker.start()
    worker.join()
    assert got == {"value": False}
    assert cr.is_grad_enabled()


def test_one_object_entered_on_two_threads_restores_each_threads_setting() -> None:
    """A module-level NO_GRAD used by two threads whose blocks overlap."""
    import threading

    shared = cr.no_grad()
    entered, leave = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with cr.enable_grad(), shared:
            entered.set()
            leave.wait(5)
        seen["worker after"] = cr.is_grad_enabled()

    with cr.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        entered.wait(5)
        with shared:  # entered after the worker's entry, left before it
            pass
        assert not cr.is_grad_enabled()
        leave.set()
        thread.join()
    assert seen == {"worker after": True}
    assert cr.is_grad_enabled()
