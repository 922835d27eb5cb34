"""``import chainrule`` is light and leaves the process alone; the layers above load on use."""

import os
import subprocess
import sys
from pathlib import Path

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


def test_import_chainrule_does_not_touch_the_allocator():
    # a spy on ctypes.CDLL(None), the handle keep_freed_memory opens to reach mallopt
    spy = (
        "import ctypes; opened = []; real = ctypes.CDLL\n"
        "def spy(name, *a, **k):\n"
        "    opened.append(name); return real(name, *a, **k)\n"
        "ctypes.CDLL = spy\n"
        "import chainrule\n"
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
