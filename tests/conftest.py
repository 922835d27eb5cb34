"""Shared fixtures: PyTorch as an optional reference, and runs of ``chainrule train`` that several
test modules read (trained once)."""

from __future__ import annotations

import compileall
import contextlib
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest


def pytest_configure(config) -> None:
    """Compile chainrule's modules once, before any test imports them. The tests start it in
    hundreds of child processes (the command line, mpiexec's ranks, kernels, servers); where
    Python writes no bytecode (PYTHONDONTWRITEBYTECODE, as on CI machines) each child compiled
    every module it imported again, a fifth of a short child's CPU time. An installed (not
    editable) chainrule was compiled by pip and is left alone."""
    source = Path(__file__).resolve().parents[1] / "src" / "chainrule"
    if source.is_dir():
        compileall.compile_dir(source, quiet=2)


def _fsync_checked_not_waited(fd) -> None:
    """``os.fsync`` in the tests: the descriptor (or object with ``fileno()``) is checked as
    fsync checks it (a closed one raises EBADF), but the disk is not waited for."""
    os.fstat(fd if isinstance(fd, int) else fd.fileno())


@pytest.fixture(scope="session", autouse=True)
def _no_waiting_for_the_disk():
    """Every file chainrule writes is fsynced (a training run's checkpoints, each epoch on a
    short run): on a busy disk a few ms each, several seconds of a resume test. Durability
    across a power cut is nothing an in-process test can observe, so the tests' own process
    skips the wait; child processes (the command line run as a program, mpiexec) still sync."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", _fsync_checked_not_waited)
        yield


@pytest.fixture
def torch():
    """PyTorch, the second reference: a test that takes this fixture is skipped (alone) where
    torch is not installed; the closed-form and finite-difference tests beside it still run."""
    return pytest.importorskip("torch")


@pytest.fixture
def jnp_without_x64():
    """JAX's numpy with float64 off, as JAX starts (a float64 array is float32 there), skipped
    where JAX is not installed; the setting is put back after the test."""
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    yield pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", previous)


@pytest.fixture
def jnp_with_x64():
    """JAX's numpy with float64 and int64 on, skipped where JAX is not installed; the setting
    is put back after the test."""
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", previous)


def unscaled_csv(path, n=60, seed=0, classes=3):
    """A CSV whose columns are in the hundreds, so the saved standardizer matters."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.normal(size=(n, 4)) * 20 + 500 + 40 * np.eye(4)[y]
    lines = ["a,b,c,d,label"] + [",".join([*map(str, x), str(t)]) for x, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path, X


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """``trained_run(name)``: the run directory of a small ``chainrule train`` run, trained on
    first use: "digits" and "family-trees" (1 epoch), "csv <loss>" on 3 classes,
    "csv binary-cross-entropy" on 2."""
    from chainrule.cli import main

    root = tmp_path_factory.mktemp("trained-runs")
    three, _ = unscaled_csv(root / "three.csv")
    two, _ = unscaled_csv(root / "two.csv", classes=2)
    done: dict[str, object] = {}

    def run(name: str):
        if name not in done:
            if name in ("digits", "family-trees"):
                args = ["--data", name, "--epochs", "1"]
            else:
                loss = name.removeprefix("csv ")
                data = two if loss == "binary-cross-entropy" else three
                args = ["--data", str(data), "--epochs", "3", "--hidden", "5", "--loss", loss]
            out = root / name.replace(" ", "-")
            with contextlib.redirect_stdout(io.StringIO()):
                assert main(["train", *args, "--out", str(out), "--quiet"]) == 0
            done[name] = out
        return done[name]

    return run


#: Debian's chromium, which the browser tests drive through Playwright (.ci/run installs it).
CHROMIUM = "/usr/bin/chromium"
#: Headless, and nothing that would reach the network on its own.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium (Playwright), launched once per test module that uses it: each test
    opens its own pages. A test that takes it is skipped, saying why, where Playwright or
    /usr/bin/chromium is missing or the browser cannot start. This is the only launch in the
    tests. Not once per session: Playwright's synchronous API keeps an event loop running in
    the main thread while it is open, and a later test's ``asyncio.run`` would refuse to start."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as error:  # a chromium that cannot start here is not a bug of ours
            pytest.skip(f"chromium could not be launched: {error}")
        yield browser
        browser.close()


@pytest.fixture
def saved_figures(monkeypatch):
    """The matplotlib figures saved from now on (every plot of chainrule saves through
    ``Figure.savefig``), in order, as matplotlib holds them: their artists, not their pixels."""
    from matplotlib.figure import Figure

    saved, savefig = [], Figure.savefig

    def keep(figure, *args, **kwargs):
        saved.append(figure)
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return saved


@pytest.fixture
def drawn_axes(saved_figures):
    """``drawn_axes(history, path)``: plot_history's panels, as matplotlib holds them when it
    saves the PNG at ``path``."""

    def draw(history, path):
        from chainrule.viz.curves import plot_history

        saved_figures.clear()
        plot_history(history, path)
        (figure,) = saved_figures
        return figure.axes

    return draw
