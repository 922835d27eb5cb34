"""The array-library seam, QA s57: a torch tensor that requires grad as clip's bound, a fill
value or inside a list; an integer to a negative integer power on every library; PyTorch's own
refusals named with the op; bfloat16 made on PyTorch after ``import ml_dtypes``; another
library's dtype object in ``astype``; ``zeros_like`` and ``ones_like`` of a bare array.

Oracles: NumPy's own refusal and values, PyTorch's own results (``torch.clamp``'s gradient,
its dtypes), and ml_dtypes' rounding of the same numbers to bfloat16."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import ArrayLibraryError

pytest.importorskip("array_api_compat")

NEGATIVE_POWER = "Integers to negative integer powers are not allowed"
TRACKED = "that requires grad cannot enter chainrule"


def _library(name, torch, jnp_without_x64=None, jnp_with_x64=None):
    return {"torch": torch, "jax": jnp_without_x64, "jax x64": jnp_with_x64}[name]


# ---------------------------------------------------------------------------------------------
# 1. A torch tensor that requires grad is refused where it enters: clip's bound, full, lists
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["low", "high"])
@pytest.mark.parametrize("x_library", ["torch", "numpy"])
def test_a_torch_bound_that_requires_grad_is_refused_by_clip(torch, side, x_library):
    """Its gradient was lost: ``w.grad`` stayed None (torch.clamp gives it [0, 1]). Detached, the
    same bound clips as torch.clamp does, and x's gradient is torch's."""
    w = torch.nn.Parameter(torch.tensor([0.5, 2.0]))
    x = cr.tensor(np.array([1.0, 1.0], np.float32), requires_grad=True)
    if x_library == "torch":
        x = cr.tensor(torch.tensor([1.0, 1.0]), requires_grad=True)
    bounds = {"low": w, "high": None} if side == "low" else {"low": None, "high": w}
    with pytest.raises(ArrayLibraryError, match=f"torch.nn.Parameter of shape \\(2,\\).*{TRACKED}"):
        cr.clip(x, **bounds)
    assert w.grad is None
    if x_library == "torch":  # the way out the error gives, against torch.clamp
        detached = {k: (None if v is None else v.detach()) for k, v in bounds.items()}
        y = cr.clip(x, **detached)
        y.sum().backward()
        x_ref = torch.tensor([1.0, 1.0], requires_grad=True)
        torch.clamp(x_ref, min=detached["low"], max=detached["high"]).sum().backward()
        assert torch.equal(y.data, torch.clamp(x_ref, detached["low"], detached["high"]))
        assert torch.equal(x.grad.data, x_ref.grad)


def test_a_tracked_torch_value_inside_a_list_or_as_a_fill_is_refused_by_name(torch):
    """NumPy met them and raised torch's own words ("Can't call numpy() on Tensor that requires
    grad"), naming neither chainrule nor the way out."""
    w = torch.nn.Parameter(torch.tensor([0.5, 2.0]))
    x = cr.tensor(torch.tensor([1.0, 1.0]), requires_grad=True)
    attempts = {
        "full": lambda: cr.full((2,), w[0]),
        "full on torch": lambda: cr.full((2,), w[0], xp=torch),
        "tensor of a list": lambda: cr.tensor([w, w]),
        "nested list": lambda: cr.tensor([[1.0, w[0]]], xp=torch),
        "list operand": lambda: x * [w[0], w[1]],
        "list operand of NumPy": lambda: cr.tensor([1.0, 1.0]) * [1.0, w[1]],
        "clip's list bound": lambda: cr.clip(x, [w[0], 3.0]),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ArrayLibraryError, match=TRACKED) as caught:
            attempt()
        assert "detach" in str(caught.value), what
    # the detached values are taken, as the error says
    assert np.array_equal(cr.full((2,), w[0].detach()).numpy(), [0.5, 0.5])
    assert np.array_equal(cr.tensor([w.detach(), w.detach()]).numpy(), [[0.5, 2.0]] * 2)


# ---------------------------------------------------------------------------------------------
# 2. An integer to a negative integer power: NumPy's refusal, named, on every library
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["torch", "jax", "jax x64"])
def test_an_integer_to_a_negative_integer_power_is_refused_on_every_library(name, torch, request):
    """PyTorch gave [0, 0, 0] for [2, 3, 4] ** [-1, -1, -1] (1 // 2, ...), JAX wrapped garbage
    (x64: -9223372036854775808 ...); a number exponent was PyTorch's RuntimeError and JAX's
    TypeError. NumPy refuses them all with a ValueError, named here with the op."""
    fixture = {"torch": "torch", "jax": "jnp_without_x64", "jax x64": "jnp_with_x64"}[name]
    xp = request.getfixturevalue(fixture)
    base = cr.tensor(np.array([2, 3, 4]), xp=xp)
    exponents = {
        "NumPy array": np.array([-1, -1, -1]),
        "one negative": np.array([1, -1, 1]),
        "tensor": cr.tensor(np.array([-1, -1, -1]), xp=xp),
        "list": [-1, 2, 2],
    }
    for exponent in exponents.values():
        with pytest.raises(ValueError, match=f"^power: inputs int.*: {NEGATIVE_POWER}"):
            cr.power(base, exponent)
        with pytest.raises(ValueError, match=f"^power: inputs int.*: {NEGATIVE_POWER}"):
            base**exponent
    with pytest.raises(ValueError, match=f"^power_scalar: inputs int.*: {NEGATIVE_POWER}"):
        base**-1
    with pytest.raises(ValueError, match=f"^power: .*{NEGATIVE_POWER}"):
        2 ** cr.tensor(np.array([1, -2]), xp=xp)
    with pytest.raises(ValueError, match=NEGATIVE_POWER):  # booleans are integers here
        cr.tensor(np.array([True, False]), xp=xp) ** np.array([-1, 1])
    # what NumPy computes is computed: non-negative exponents, and a float base or exponent
    assert np.array_equal((base ** np.array([0, 1, 2])).numpy(), [1, 3, 16])
    floats = base.astype("float32") ** np.array([-1, -1, -1])
    assert np.allclose(floats.numpy(), [0.5, 1 / 3, 0.25])
    assert np.allclose((base ** np.array([-1.0, -1.0, -1.0])).numpy(), [0.5, 1 / 3, 0.25])


# ---------------------------------------------------------------------------------------------
# 3. PyTorch's other refusals in an op are named with the op and the inputs, of their own class
# ---------------------------------------------------------------------------------------------


def test_torch_refusals_of_a_dtype_are_named_with_the_op_and_keep_their_class(torch):
    b = cr.tensor(np.array([[True, False]]), xp=torch)
    cases = [
        (lambda: b @ b.T, NotImplementedError, "matmul: inputs bool (1, 2) and bool (2, 1): "),
        (lambda: b - b, RuntimeError, "sub: inputs bool (1, 2) and bool (1, 2): "),
        (lambda: -b, RuntimeError, "neg: inputs bool (1, 2): "),
    ]
    for attempt, kind, named in cases:
        with pytest.raises(kind) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith(named), message
        own = caught.value.__cause__  # torch's own error, kept whole
        assert type(own) is kind and str(own).split("\n")[0] in message


# ---------------------------------------------------------------------------------------------
# 4. bfloat16 made on PyTorch where ml_dtypes is loaded (as `import jax` loads it)
# ---------------------------------------------------------------------------------------------


def test_bfloat16_is_made_on_torch_after_ml_dtypes_is_imported(torch):
    """PyTorch reads no ml_dtypes array: "can't convert np.ndarray of type ml_dtypes.bfloat16"."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = [1.1, 2.3, -1 / 3]
    rounded = np.array(values, ml_dtypes.bfloat16).astype(np.float32)  # the oracle
    made = {
        "ones": (cr.ones(3, dtype=torch.bfloat16, xp=torch), np.ones(3, np.float32)),
        "full": (cr.full((3,), -1 / 3, dtype="bfloat16", xp=torch), np.full(3, rounded[2])),
        "tensor": (cr.tensor(values, dtype=torch.bfloat16, xp=torch), rounded),
        "moved": (cr.tensor(np.array(values, ml_dtypes.bfloat16), xp=torch), rounded),
    }
    for what, (t, expected) in made.items():
        assert t.dtype == torch.bfloat16, what
        assert np.array_equal(t.data.float().numpy(), expected), what
    w = cr.randn(3, dtype=torch.bfloat16, xp=torch, rng=0, requires_grad=True)
    seeded = np.random.default_rng(0).standard_normal(3).astype(ml_dtypes.bfloat16)
    assert np.array_equal(w.data.float().numpy(), seeded.astype(np.float32))
    (w * w).sum().backward()
    assert w.grad.dtype == torch.bfloat16


def test_bfloat16_is_made_on_torch_before_ml_dtypes_is_imported(torch):
    """Without ml_dtypes loaded NumPy had no name bfloat16, and creation refused it ("has no
    NumPy counterpart"), while after `import jax` it failed in torch's words: now it is made
    either way (ml_dtypes is imported on demand), in a fresh process that has not loaded it."""
    pytest.importorskip("ml_dtypes")
    code = (
        "import sys, torch, chainrule as cr\n"
        "assert 'ml_dtypes' not in sys.modules\n"
        "t = cr.full((2,), -1 / 3, dtype=torch.bfloat16, xp=torch)\n"
        "print(t.dtype, t.data.float().tolist())\n"
    )
    src = str(Path(cr.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    # -1/3 rounded to bfloat16's 8 bits of mantissa, by hand: -0x0.AB * 2**-1
    assert done.stdout.split() == ["torch.bfloat16", "[-0.333984375,", "-0.333984375]"]


# ---------------------------------------------------------------------------------------------
# 5. astype with another library's dtype object; zeros_like / ones_like of a bare array
# ---------------------------------------------------------------------------------------------


def test_astype_reads_another_librarys_dtype_object_by_its_name(torch):
    """array-api-compat's isdtype raised AttributeError ('is_floating_point') for an
    array-api-strict dtype given to a torch tensor; NumPy "cannot interpret" torch.float32."""
    strict = pytest.importorskip("array_api_strict")
    t = cr.tensor(torch.ones(2)).astype(strict.float64)
    assert t.dtype == torch.float64
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.astype(torch.float32)
    assert y.data.dtype == np.float32
    (y * y).sum().backward()
    assert np.array_equal(x.grad.numpy(), [2.0, 4.0]) and x.grad.dtype == np.float64
    assert cr.tensor(np.ones(2), xp=strict).astype(torch.float32).dtype == strict.float32
    with pytest.raises(ArrayLibraryError, match="numpy has no dtype bfloat16"):
        cr.tensor(np.ones(2)).astype(torch.bfloat16)
    with pytest.raises(ArrayLibraryError, match="array_api_strict has no dtype bfloat16"):
        cr.tensor(np.ones(2), xp=strict).astype(torch.bfloat16)


def test_zeros_like_and_ones_like_take_an_array_of_any_library(torch):
    """They read ``x.xp`` of the array ("'numpy.ndarray' object has no attribute 'xp'")."""
    z = cr.zeros_like(np.ones((2, 3), np.float32), requires_grad=True)
    assert isinstance(z.data, np.ndarray) and z.data.dtype == np.float32
    assert z.shape == (2, 3) and z.requires_grad and not z.numpy().any()
    o = cr.ones_like(torch.zeros(2, dtype=torch.float64))
    assert torch.equal(o.data, torch.ones(2, dtype=torch.float64))
    assert cr.zeros_like(torch.ones(3, dtype=torch.int32)).dtype == torch.int32
    with pytest.raises(ArrayLibraryError, match=TRACKED):
        cr.zeros_like(torch.nn.Parameter(torch.ones(2)))
