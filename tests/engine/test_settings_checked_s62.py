"""``CHAINRULE_*`` variables with a typo had no effect, silently (session 62, a CI engineer):
``CHAINRULE_AXPY=nmupy`` trained with BLAS's axpy while run.json recorded the value as given,
as if the opt-out had taken. A variable chainrule does not know, or a value its variable does
not take, is a ``SettingWarning`` (the CLI shows it as one line), once a process. Oracle: the
values each variable's reader acts on (backend's axpy and allocator, distributed's threads)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from chainrule import backend
from chainrule.errors import SettingWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(backend, "_warned_settings", set())


def _warned(environ: dict[str, str]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend.check_settings(environ)
    assert all(w.category is SettingWarning for w in caught)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"CHAINRULE_AXPY": "nmupy"}, "CHAINRULE_AXPY='nmupy' has no effect: it takes numpy"),
        ({"CHAINRULE_MALLOC": "xyz"}, "CHAINRULE_MALLOC='xyz' has no effect: it takes system"),
        ({"CHAINRULE_BLAS_THREADS": "abc"}, "it takes a whole number"),
        (
            {"CHAINRULE_AXYP": "numpy"},
            "CHAINRULE_AXYP is no setting of chainrule's (did you mean CHAINRULE_AXPY?)",
        ),
        ({"CHAINRULE_MPI": "maybe"}, "CHAINRULE_MPI='maybe' has no effect: it takes 0 or no"),
    ],
)
def test_a_setting_with_no_effect_is_named(environ, expected):
    (message,) = _warned(environ)
    assert expected in message


def test_values_the_readers_act_on_pass_silently(monkeypatch):
    taken = {"CHAINRULE_AXPY": "NumPy", "CHAINRULE_MALLOC": "system",
             "CHAINRULE_BLAS_THREADS": " 2 ", "PATH": "/bin", "CHAINRULE_MPI": "0 ",
             # chainrule's own mark on a rank's child, and a test harness's variable
             "CHAINRULE_RANK_PROCESS": "1", "CHAINRULE_DOCS_EXECUTE": "1"}  # fmt: skip
    assert _warned(taken) == []
    # the premise: the readers act on them (axpy off, the allocator left alone)
    monkeypatch.setattr(backend, "_axpy_by_dtype", backend._axpy_by_dtype)  # put back after
    monkeypatch.setenv("CHAINRULE_AXPY", "NumPy")
    assert backend._find_axpy() == {}
    monkeypatch.setenv("CHAINRULE_MALLOC", "system")
    assert backend.keep_freed_memory() is False
    from chainrule import launcher

    assert launcher.launched_size({"CHAINRULE_MPI": "0 ", "PMI_SIZE": "4"}) == 1


def test_a_parallel_run_warns_of_nothing_chainrule_set_itself(tmp_path, capsys, monkeypatch):
    """Under a launcher, chainrule marks its ranks' children (CHAINRULE_RANK_PROCESS) and the
    documented CHAINRULE_MPI=0 runs one process: neither is a setting with no effect."""
    monkeypatch.setenv("CHAINRULE_MPI", "0")
    monkeypatch.setenv("CHAINRULE_RANK_PROCESS", "1")
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "2", "--out", tmp_path / "r")
    assert code == 0 and "warning" not in err, err


def test_the_cli_says_it_once_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHAINRULE_AXPY", "nmupy")
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "2", "--out", tmp_path / "r")
    assert code == 0
    lines = [line for line in err.splitlines() if "CHAINRULE_AXPY" in line]
    assert lines == ["chainrule: warning: CHAINRULE_AXPY='nmupy' has no effect: it takes numpy "
                     "(or no value)"]  # fmt: skip
