"""``import chainrule`` is light and leaves the process alone; the layers above load on use."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule as cr

SRC = str(Path(cr.__file__).resolve().parents[1])  # this checkout's copy, not an installed one

HIGHER = ("nn", "optim", "data", "train", "io", "viz", "explainer", "sklearn", "cli", "web")
OPTIONAL = ("rich", "typer", "matplotlib", "safetensors", "sympy", "starlette", "torch", "sklearn")


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_chainrule_loads_no_higher_layer_and_no_optional_library():
    out = _python("import sys, chainrule; print(' '.join(sorted(sys.modules)))")
    loaded = set(out.split())
    assert "chainrule" in loaded
    assert not {f"chainrule.{name}" for name in HIGHER} & loaded
    assert not set(OPTIONAL) & loaded


#: A spy on ctypes.CDLL(None), the handle keep_freed_memory opens to reach mallopt, then
#: ``import chainrule``: what a test's script runs first.
CDLL_SPY = (
    "import ctypes; opened = []; real = ctypes.CDLL\n"
    "def spy(name, *a, **k):\n"
    "    opened.append(name); return real(name, *a, **k)\n"
    "ctypes.CDLL = spy\n"
    "import chainrule\n"
)


def test_import_chainrule_does_not_touch_the_allocator():
    spy = CDLL_SPY + (
        "print('import', None in opened)\n"
        "chainrule.backend.keep_freed_memory()\n"
        "print('call', None in opened)\n"
    )
    out = _python(spy).split("\n")
    assert out[0] == "import False"
    if sys.platform.startswith("linux"):
        assert out[1] == "call True"


def test_trainer_fit_sets_the_allocator(monkeypatch):
    from chainrule import nn, optim, train
    from chainrule.data import xor

    calls = []
    monkeypatch.setattr(train.trainer, "keep_freed_memory", lambda: calls.append(1))
    model = nn.mlp([2, 2, 1], output="logistic", rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    train.fit(model, nn.SquaredError(), opt, xor(), epochs=1, progress=False)
    assert calls


def test_submodules_load_on_first_use_and_show_in_dir():
    out = _python(
        "import sys, chainrule as cr\n"
        "names = set(dir(cr))\n"
        f"print(all(n in names for n in {HIGHER!r} + ('explain',)))\n"
        "print(callable(cr.viz.curves.plot_history), 'curves' in dir(cr.viz))\n"
        "print('chainrule.viz.graph' in sys.modules, 'graph' in dir(cr.viz))\n"
        "print(callable(cr.explain), cr.explainer.quiz.__name__)\n"
    )
    assert out.split("\n")[:4] == [
        "True", "True True", "False True", "True chainrule.explainer.quiz"
    ]  # fmt: skip


def test_an_unknown_attribute_is_still_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="has no attribute 'nonesuch'"):
        cr.nonesuch  # noqa: B018
    with pytest.raises(AttributeError):
        cr.viz._private  # noqa: B018


def test_import_chainrule_loads_nothing_until_a_name_is_read():
    out = _python(
        "import sys, chainrule as cr\n"
        "print('numpy' in sys.modules, 'chainrule.engine' in sys.modules)\n"
        "print(all(name in dir(cr) for name in cr.__all__))\n"
        "x = cr.tensor([0.5], requires_grad=True)\n"
        "print('numpy' in sys.modules, type(x).__name__)\n"
    )
    assert out.split("\n")[:3] == ["False False", "True", "True Tensor"]


# A program's first line may import any module; the core (tensor <-> engine <-> ops) still loads
# in its one working order, once: the engine alone first would fail ("cannot import name 'apply'").
FIRST_IMPORTS = [
    "from chainrule.engine import no_grad", "import chainrule.tensor", "import chainrule.gradcheck",
    "from chainrule.functional import grad", "from chainrule.ops.registry import REGISTRY",
    "from chainrule.train import Trainer", "from chainrule.explainer import explain",
]  # fmt: skip


@pytest.mark.parametrize("first", FIRST_IMPORTS)
def test_any_first_import_loads_the_core_once_and_cr_tensor_stays_the_function(first):
    out = _python(
        f"{first}\n"
        "import gc, sys, types\n"
        "import chainrule as cr, chainrule.engine as engine\n"
        "print(type(cr.tensor).__name__, type(cr.gradcheck).__name__)\n"
        "copies = [m.__name__ for m in gc.get_objects() if isinstance(m, types.ModuleType)\n"
        "          and m.__name__.startswith('chainrule.')]\n"
        "print(len(copies) == len(set(copies)), cr.no_grad is engine.no_grad)\n"
        "print(sys.modules['chainrule.tensor'].Tensor is cr.Tensor)\n"
        "print(type(sys.modules['chainrule.engine'].__spec__.loader).__name__)\n"
        "print(float((cr.tensor([2.0]) * cr.tensor([3.0])).sum().item()))\n"
    )
    assert out.split("\n")[:5] == ["function function", "True True", "True", "SourceFileLoader",
                                   "6.0"]  # fmt: skip


def test_keep_freed_memory_opens_the_c_library_once():
    """Every fit opened a ctypes library for mallopt, leaving reference cycles for the gc."""
    spy = CDLL_SPY + (
        "for _ in range(3): chainrule.backend.keep_freed_memory()\nprint(opened.count(None))\n"
    )
    if sys.platform.startswith("linux"):
        assert _python(spy).strip() == "1"
