"""Type checkers see chainrule's annotations: ``py.typed`` ships, and mypy types a user's script.

A realistic script (tensor arithmetic with numbers and arrays, a custom module's ``.eval()``,
``zero_grad(model)``, ``has_aux``, the scikit-learn estimator, ``cr.nn`` through the lazily loaded
package) must check clean, and a wrong one must give exactly the errors marked on its lines.
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
    from typing import assert_type

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
    z: cr.Tensor = net.train()(x)  # calling a module gives Any (forward is the subclass's)
    E = 0.5 * (z - t) ** 2
    assert_type(E, cr.Tensor)
    E.sum().backward()
    cr.zero_grad(net)
    cr.zero_grad(cr.nn.mlp([2, 3, 1], rng=0))
    cr.zero_grad(net.parameters(), x)


    def loss_and_pred(v: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
        pred = cr.tanh(v)
        return pred.sum(), pred


    g, aux = cr.grad(loss_and_pred, has_aux=True)(x)
    (value, aux2), g2 = cr.value_and_grad(loss_and_pred, has_aux=True)(x)
    H, aux3 = cr.hessian(loss_and_pred, has_aux=True)(x)
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
