"""Type checkers see chainrule's annotations: ``py.typed`` ships, and mypy types a user's script.

A realistic script (tensor arithmetic with numbers and arrays, a custom module's ``.eval()``,
``zero_grad(model)``, ``has_aux``, the scikit-learn estimator, ``cr.nn`` through the lazily loaded
package) must check clean, and a wrong one must give exactly the errors marked on its lines.
Where a user expects a type, the script asserts it rather than Any: calling a module gives its
``forward``'s output, a transform of a function of a tensor (``grad``, ``value_and_grad``,
``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``) gives tensors; a gradient nested as its
argument stays Any rather than a wrong type, and so does ``load_model``'s model (a Sequential
indexed, ``model[0]``, or a class of one's own: typed Module, both were errors).
mypy runs on this checkout's source (``MYPYPATH``), so the test checks the code it sits beside.
"""

import re
import textwrap
import tomllib
from pathlib import Path

import mypy.api

import chainrule as cr

PACKAGE = Path(cr.__file__).resolve().parent
SRC = PACKAGE.parent

RIGHT = """
    from typing import Any, assert_type

    import numpy as np

    import chainrule as cr
    from chainrule.sklearn import MLPClassifier


    class Net(cr.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = cr.nn.Linear(2, 3, rng=0)
            self.fc2 = cr.nn.Linear(3, 1, rng=1)

        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return self.fc2(cr.tanh(self.fc1(x)))


    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    t = np.ones((1, 1))
    assert_type(x * 2 + 1, cr.Tensor)
    assert_type(3.0 - x / 2, cr.Tensor)
    assert_type((x - 1.5) * x / np.float64(2.0), cr.Tensor)
    assert_type(x + x, cr.Tensor)
    net = Net()
    assert_type(net.eval().fc1, cr.nn.Linear)
    assert_type(net.to(np.float64), Net)
    z = net.train()(x)
    assert_type(z, cr.Tensor)  # forward's output, not Any
    assert_type(net.fc1(x), cr.Tensor)
    E = 0.5 * (z - t) ** 2
    assert_type(E, cr.Tensor)
    E.sum().backward()
    cr.zero_grad(net)
    cr.zero_grad(cr.nn.mlp([2, 3, 1], rng=0))
    cr.zero_grad(net.parameters(), x)


    def loss_and_pred(v: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
        pred = cr.tanh(v)
        return pred.sum(), pred


    def loss(v: cr.Tensor, scale: float = 1.0) -> cr.Tensor:
        return (cr.tanh(v) * scale).sum()


    def activation(v: cr.Tensor) -> cr.Tensor:
        return cr.tanh(v)


    def pair_loss(vw: tuple[cr.Tensor, cr.Tensor]) -> cr.Tensor:
        return (vw[0] * vw[1]).sum()


    assert_type(cr.grad(loss_and_pred, has_aux=True)(x), tuple[cr.Tensor, cr.Tensor])
    assert_type(
        cr.value_and_grad(loss_and_pred, has_aux=True)(x),
        tuple[tuple[cr.Tensor, cr.Tensor], cr.Tensor],
    )
    assert_type(cr.hessian(loss_and_pred, has_aux=True)(x), tuple[cr.Tensor, cr.Tensor])
    assert_type(cr.jacobian(loss_and_pred, has_aux=True)(x), tuple[cr.Tensor, cr.Tensor])
    assert_type(cr.grad(loss)(x), cr.Tensor)
    assert_type(cr.grad(loss)(np.ones((1, 2)), scale=2.0), cr.Tensor)  # an array is differentiated
    assert_type(cr.grad(loss, argnums=0)(3.0, 2.0), cr.Tensor)
    assert_type(cr.value_and_grad(loss)(x), tuple[cr.Tensor, cr.Tensor])
    assert_type(cr.jacobian(activation)(x), cr.Tensor)
    assert_type(cr.jacobian(loss, mode="forward")(x), cr.Tensor)
    assert_type(cr.hessian(loss)(x), cr.Tensor)
    assert_type(cr.grad(net)(x), cr.Tensor)
    out, pullback = cr.vjp(loss, x)
    assert_type(out, cr.Tensor)
    assert_type(pullback(1.0), tuple[cr.Tensor])
    assert_type(cr.jvp(activation, (x,), (x,)), tuple[cr.Tensor, cr.Tensor])
    assert_type(cr.hvp(loss, (x,), (x,)), cr.Tensor)
    assert_type(cr.grad(pair_loss)((x, x)), Any)  # a tuple's gradients: Any, not a tensor
    assert_type(cr.grad(lambda v, w: (v * w).sum(), argnums=(0, 1))(x, x), Any)
    cr.grad(lambda v: (v * v).sum())(x).sum()
    loaded, info = cr.io.load_model("runs/digits/model")
    assert_type(loaded, Any)
    loaded[0].weight.sum()  # a Sequential's layer: no false error
    assert_type(info, dict[str, Any])
    assert_type(cr.var(x, 0, ddof=1), cr.Tensor)
    assert_type(cr.optim.SGD(net.parameters(), lr=0.1), cr.optim.SGD)
    assert_type(cr.nn.init.get("he"), cr.nn.init.Initialiser)
    X = np.random.default_rng(0).random((8, 2))
    y = (X.sum(axis=1) > 1).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5).fit(X, y)
    assert_type(clf, MLPClassifier)
    assert_type(clf.predict_proba(X), np.ndarray)
"""

# each wrong line ends in the mypy error code it must get, and no other line may get one
WRONG = """
    import chainrule as cr

    t = cr.tensor([1.0])
    t.backwards()  # attr-defined
    (t * 2).backwards()  # attr-defined
    net = cr.nn.mlp([2, 3, 1])
    cr.optim.SGD(net.parameters(), lr="0.1")  # arg-type
    cr.nn.Linear("2", 3)  # arg-type
    cr.nonexistent_function(1)  # attr-defined
    cr.zero_grad(3)  # arg-type
    cr.nn.Linnear(2, 3)  # attr-defined
    cr.viz.curvs  # attr-defined


    class Net(cr.nn.Module):
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return x * 2


    def f(v: cr.Tensor) -> cr.Tensor:
        return (v * v).sum()


    Net()(t).nosuchmethod()  # attr-defined
    Net()(t, 2)  # call-arg
    cr.grad(f)(t).nosuchmethod()  # attr-defined
    cr.grad(f)(t, 2)  # call-arg
    cr.value_and_grad(f)(t)[1].nosuchmethod()  # attr-defined
    cr.jacobian(f)(t).nosuchmethod()  # attr-defined
    cr.hessian(f)(t).nosuchmethod()  # attr-defined
    cr.vjp(f, t)[1](1.0)[0].nosuchmethod()  # attr-defined
    cr.jvp(f, (t,), (t,))[1].nosuchmethod()  # attr-defined
    cr.var(t, 0, True)  # arg-type
"""


# chainrule's modules are checked as a user's run checks them (their own errors are not the
# user's: silenced), NumPy's too; other libraries are skipped (Any): a third of mypy's time
CONFIG = """
[mypy]
follow_imports = skip
show_error_codes = True
[mypy-chainrule.*,numpy.*]
follow_imports = silent
"""


def _mypy(tmp_path: Path, **sources: str) -> dict[str, list[tuple[int, str]]]:
    """The (line, error code) of each error mypy reports in each script of ``sources``."""
    (tmp_path / "mypy.ini").write_text(CONFIG)
    scripts = {name: tmp_path / f"{name}.py" for name in sources}
    for name, script in scripts.items():
        script.write_text(textwrap.dedent(sources[name]))
    stdout, stderr, _ = mypy.api.run(
        [
            "--config-file", str(tmp_path / "mypy.ini"),
            "--cache-dir", str(tmp_path / "mypy-cache"),
            "--no-error-summary",
            *map(str, scripts.values()),
        ]
    )  # fmt: skip
    assert not stderr, stderr
    errors = {
        name: [
            (int(line), code)
            for line, code in re.findall(
                rf"^{re.escape(str(script))}:(\d+): error: .*\[([a-z-]+)\]$", stdout, re.M
            )
        ]
        for name, script in scripts.items()
    }
    assert sum(map(len, errors.values())) == stdout.count(": error:"), stdout
    return errors


def test_the_package_ships_its_py_typed_marker():
    assert (PACKAGE / "py.typed").is_file()
    with open(SRC.parent / "pyproject.toml", "rb") as file:
        package_data = tomllib.load(file)["tool"]["setuptools"]["package-data"]["chainrule"]
    assert "py.typed" in package_data  # else the wheel has no marker: checkers see Any


def test_mypy_types_a_users_script_and_flags_its_mistakes(tmp_path, monkeypatch):
    monkeypatch.setenv("MYPYPATH", str(SRC))  # this checkout, not whichever one is installed
    errors = _mypy(tmp_path, right=RIGHT, wrong=WRONG)
    assert errors["right"] == []
    assert errors["wrong"] == [
        (number, line.rsplit("# ", 1)[1])
        for number, line in enumerate(textwrap.dedent(WRONG).splitlines(), start=1)
        if "  # " in line
    ]


def test_the_lazy_packages_dir_offers_no_name_that_set_them_up():
    for package in (cr, cr.nn, cr.optim, cr.viz, cr.train, cr.data, cr.explainer):
        assert not {"lazy_package", "_typing"} & set(dir(package)), package.__name__
    assert "glorot" in cr.nn.init.__all__
    assert not {"np", "math", "functools", "Any", "backend"} & set(cr.nn.init.__all__)


def test_grad_and_value_and_grad_say_what_has_aux_returns():
    assert "``(gradient, aux)``" in cr.grad.__doc__
    assert "``((value, aux),\n    gradient)``" in cr.value_and_grad.__doc__
