"""chainrule installed without an extra (``pip install chainrule``): what needs a missing package
says so in one message naming the package and the extra that installs it, never a bare
ModuleNotFoundError for a package the user never chose; the command line prints that message on
one line and exits with code 2.

Each case runs in a subprocess where the packages named are absent as they are when not
installed: importing one raises ModuleNotFoundError naming it, and ``find_spec`` finds nothing.
"""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hidden_modules import hiding

from chainrule import errors

ROOT = Path(__file__).resolve().parents[2]


def _run(absent: tuple[str, ...], code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """``code`` run by a fresh Python in which the modules ``absent`` are not installed."""
    script = hiding(absent) + code
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _raised(absent: tuple[str, ...], code: str, tmp_path: Path) -> str:
    """The message of the MissingExtraError that ``code`` raises without ``absent``; the error
    must also be a ModuleNotFoundError (``except ImportError`` still catches it)."""
    catch = (
        "try:\n" + "".join(f"    {line}\n" for line in code.strip().splitlines()) + "except "
        "ModuleNotFoundError as error:\n"
        "    print(type(error).__name__, type(error).__mro__[1].__name__)\n"
        "    print(error)\n"
        "else:\n"
        "    print('nothing raised')\n"
    )
    done = _run(absent, catch, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    kind, message = done.stdout.strip().split("\n", 1)
    assert kind == "MissingExtraError UserError", done.stdout
    return message


def _cli(absent: tuple[str, ...], args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """``python -m chainrule ARGS`` (what the ``chainrule`` script runs) without ``absent``."""
    code = f"import runpy\nsys.argv = ['chainrule', *{args!r}]\n"
    code += "runpy.run_module('chainrule', run_name='__main__', alter_sys=True)\n"
    return _run(absent, code, tmp_path)


def _one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


APP = "from chainrule's [app] extra: pip install 'chainrule[app]'"


# The command line ------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], [], ["train", "--help"], ["explain"]])
def test_the_command_line_without_typer_says_so_in_one_line(args, tmp_path):
    line = _one_line(_cli(("typer",), args, tmp_path))
    assert line == f"chainrule: the command line needs typer, {APP}"


def test_importing_the_command_line_package_without_typer_names_the_extra(tmp_path):
    message = _raised(("typer",), "from chainrule.cli import app", tmp_path)
    assert message == f"the command line needs typer, {APP}"


def test_serve_without_uvicorn_says_so_in_one_line_and_starts_nothing(tmp_path):
    line = _one_line(_cli(("uvicorn",), ["serve", "--port", "1"], tmp_path))
    assert line == f"chainrule: chainrule serve needs uvicorn, {APP}"


def test_serve_without_starlette_names_the_explorer_and_the_extra(tmp_path):
    line = _one_line(_cli(("starlette",), ["serve", "--port", "1"], tmp_path))
    assert line == f"chainrule: the browser explorer (chainrule.web) needs starlette, {APP}"


def test_a_missing_module_of_no_extra_is_left_as_it_is():
    error = ModuleNotFoundError("No module named 'nosuchthing'", name="nosuchthing")
    assert errors.missing_extra(error, "x") is error
    with pytest.raises(ModuleNotFoundError) as raised, errors.extras_needed_by("x"):
        raise error
    assert raised.value is error


# The library -----------------------------------------------------------------------------------


def test_save_model_without_pydantic_names_the_extra(tmp_path):
    code = """
import chainrule as cr
cr.io.save_model("m", cr.nn.Sequential(cr.nn.Linear(2, 1)))
"""
    message = _raised(("pydantic",), code, tmp_path)
    assert message == f"reading or writing model and checkpoint files needs pydantic, {APP}"
    assert not (tmp_path / "m").exists()  # nothing half-written


def test_load_model_without_safetensors_names_the_extra(tmp_path):
    import chainrule as cr

    cr.io.save_model(tmp_path / "m", cr.nn.Sequential(cr.nn.Linear(2, 1)))
    message = _raised(("safetensors",), "import chainrule as cr\ncr.io.load_model('m')", tmp_path)
    assert message == f"reading a safetensors file needs safetensors, {APP}"


def test_a_trainer_saving_checkpoints_without_pydantic_names_the_extra(tmp_path):
    code = """
import numpy as np
import chainrule as cr
net = cr.nn.Sequential(cr.nn.Linear(2, 1))
trainer = cr.train.Trainer(net, cr.nn.MSE(), cr.optim.SGD(net.parameters(), lr=0.1),
                           checkpoint_dir="ck", progress=False)
trainer.fit(cr.data.Dataset(np.ones((4, 2)), np.ones((4, 1))), epochs=1)
"""
    message = _raised(("pydantic",), code, tmp_path)
    assert message == f"reading or writing model and checkpoint files needs pydantic, {APP}"


def test_plot_history_without_matplotlib_names_the_extra(tmp_path):
    code = (
        "import chainrule as cr\ncr.viz.curves.plot_history([{'epoch': 1, 'loss': 1.0}], 'h.png')"
    )
    message = _raised(("matplotlib",), code, tmp_path)
    assert message == f"plot_history needs matplotlib, {APP}"


def test_the_explainers_html_without_latex2mathml_names_the_extra(tmp_path):
    code = "import chainrule as cr\ncr.explainer.render(cr.explain(), 'html')"
    message = _raised(("latex2mathml",), code, tmp_path)
    assert message == f"the explainer's HTML (its MathML) needs latex2mathml, {APP}"


def test_explain_symbolic_without_sympy_skips_the_proof_saying_why(tmp_path):
    code = """
import chainrule as cr
d = cr.explain(symbolic=True)
print(d.all_ok, d.symbolic)
print(cr.explainer.render(d, "markdown").count("pip install"))
"""
    done = _run(("sympy",), code, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = done.stdout.strip().splitlines()
    message = f"symbolic mode (the sympy proof) needs sympy, {APP}"
    assert first == f"True {{'status': 'skipped', 'message': {message!r}}}"
    assert second == "1"  # the document says why the proof is not there


def test_the_explorer_without_anywidget_names_the_notebook_extra(tmp_path):
    message = _raised(("anywidget",), "import chainrule as cr\ncr.explorer()", tmp_path)
    assert message == (
        "cr.explorer needs anywidget, from chainrule's [notebook] extra: "
        "pip install 'chainrule[notebook]'"
    )


def test_the_explorer_without_starlette_names_the_extra(tmp_path):
    pytest.importorskip("anywidget")  # else the widget's own package is what it names first
    message = _raised(("starlette",), "import chainrule as cr\ncr.explorer()", tmp_path)
    assert message == f"the browser explorer (chainrule.web) needs starlette, {APP}"


@pytest.mark.parametrize("first", ["import chainrule as cr\ncr.web", "import chainrule.web"])
def test_the_web_package_without_starlette_names_the_extra(first, tmp_path):
    message = _raised(("starlette",), first, tmp_path)
    assert message == f"the browser explorer (chainrule.web) needs starlette, {APP}"


@pytest.mark.parametrize("absent", [("sklearn", "scipy"), ("scipy",)])
def test_the_sklearn_estimators_without_scikit_learn_name_it(absent, tmp_path):
    code = "import chainrule as cr\ncr.sklearn.MLPClassifier()"
    message = _raised(absent, code, tmp_path)
    detail = " (no module named 'scipy')" if absent == ("scipy",) else ""
    assert message == f"chainrule.sklearn needs scikit-learn{detail}, {APP}"


def test_plot_path_costs_without_matplotlib_names_the_extra(tmp_path):
    code = "import chainrule as cr\ncr.viz.paths.plot_path_costs([2, 2, 3])"
    message = _raised(("matplotlib",), code, tmp_path)
    assert message == f"plot_path_costs needs matplotlib, {APP}"


def test_gradient_health_plot_without_matplotlib_names_the_extra(tmp_path):
    code = """
from chainrule.explainer.health import GradientHealth
GradientHealth().plot("h.png")
"""
    message = _raised(("matplotlib",), code, tmp_path)
    assert message == f"GradientHealth.plot needs matplotlib, {APP}"
    assert not (tmp_path / "h.png").exists()


def test_print_text_without_rich_prints_the_same_lines_uncoloured(tmp_path):
    # colour is all rich adds: chainrule explain and a library caller still get the derivation
    code = """
import chainrule as cr
from chainrule.explainer.render_text import print_text, text_lines
d = cr.explain()
print_text(d)
print("-- the lines:", [line for line, _ in text_lines(d)])
"""
    done = _run(("rich",), code, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    printed, _, lines = done.stdout.rpartition("-- the lines: ")
    expected = ast.literal_eval(lines)
    assert printed.splitlines() == expected
    assert any("Backward pass" in line for line in expected)  # the derivation, not nothing


def test_explain_on_the_command_line_without_rich_prints_the_derivation(tmp_path):
    done = _cli(("rich",), ["explain"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "✓" in done.stdout and "\x1b[" not in done.stdout


def test_the_web_package_without_anyio_names_the_extra(tmp_path):
    message = _raised(("anyio",), "import chainrule.web", tmp_path)
    assert message == f"the browser explorer (chainrule.web) needs anyio, {APP}"


def test_a_lazy_submodule_that_imports_an_extras_package_names_it_when_first_read(tmp_path):
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from chainrule._lazy import lazy_package\n"
        "__getattr__, __dir__ = lazy_package(__name__, __path__)\n"
    )
    (package / "shown.py").write_text("import rich\n")  # at its top, as chainrule.web's do
    message = _raised(("rich",), "import lazypkg\nlazypkg.shown", tmp_path)
    assert message == f"lazypkg.shown needs rich, {APP}"


def test_the_error_is_a_user_error_and_an_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "typer", None)  # imported here: as if it were not
    error = errors.missing_extra(ModuleNotFoundError("x", name="typer"), "the command line")
    assert isinstance(error, errors.MissingExtraError)
    assert isinstance(error, errors.UserError) and isinstance(error, ImportError)
    assert error.name == "typer"


# The table and pyproject.toml ------------------------------------------------------------------

#: extras for developing chainrule, not for a feature of it: no message names them
DEVELOPMENT = {"docs", "test-light", "test", "bench"}


def _distribution(requirement: str) -> str:
    """``jax[cpu]>=0.4.32`` -> ``jax``."""
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found is not None, requirement
    return found.group(0)


def test_the_table_of_extras_is_pyprojects():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(extras) - DEVELOPMENT == set(errors.EXTRAS)
    for extra, distributions in errors.EXTRAS.items():
        listed = {_distribution(r) for r in extras[extra] if not r.startswith("chainrule[")}
        assert set(distributions) == listed, extra
    known = {d for distributions in errors.EXTRAS.values() for d in distributions}
    assert set(errors.BROUGHT_BY.values()) <= known


#: Packages chainrule imports that no extra declares, each with why: the import is guarded and the
#: code goes on without it, or the package is the user's own (an array library handed in)
UNDECLARED = {
    "numpy": "chainrule's one dependency, not an extra's",
    "click": "its exception classes, caught as well where installed (newer typer has its own)",
    "torch": "the converters' and the array seam's, imported where a user has it",
    "cupyx": "CuPy's, imported only for CuPy arrays a user handed in",
    "ml_dtypes": "its dtypes looked up where installed, None where not",
}


def _imported_packages() -> dict[str, str]:
    """Each top-level package that chainrule's source imports (not the standard library's, not
    chainrule's own), with one file that imports it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "src" / "chainrule").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top != "chainrule" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_package_the_source_imports_is_declared_by_its_extra():
    # declared directly, not only reached as another package's dependency (typer once brought
    # click and no longer does): a package an extra's dependencies drop would be missing
    declared = {module for d in errors.EXTRAS.values() for module in d.values() if module}
    imported = _imported_packages()
    undeclared = {
        top: path for top, path in imported.items() if top not in declared | set(UNDECLARED)
    }
    assert undeclared == {}
    assert set(UNDECLARED) <= set(imported)  # no excuse left for an import that is gone
