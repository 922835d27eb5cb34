"""Every error type lives in chainrule.errors; its old import paths give the same class."""

import importlib

import pytest

from chainrule import errors

OLD_HOMES = [
    ("chainrule", "ShapeError"),
    ("chainrule.ops.registry", "ShapeError"),
    ("chainrule", "AnomalyError"),
    ("chainrule.engine", "AnomalyError"),
    ("chainrule", "GraphFreedError"),
    ("chainrule.engine", "GraphFreedError"),
    ("chainrule", "GradcheckError"),
    ("chainrule.gradcheck", "GradcheckError"),
    ("chainrule.nn", "ConfigError"),
    ("chainrule.nn.module", "ConfigError"),
    ("chainrule.nn", "StateDictError"),
    ("chainrule.nn.module", "StateDictError"),
    ("chainrule.train", "TrainingDiverged"),
    ("chainrule.train.trainer", "TrainingDiverged"),
    ("chainrule.io", "ModelFileError"),
]


@pytest.mark.parametrize("module, name", OLD_HOMES)
def test_an_error_is_defined_in_errors_and_reexported(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert cls is getattr(errors, name)
    assert cls.__module__ == "chainrule.errors"


def test_user_mistakes_are_user_errors():
    for name in ("ConfigError", "StateDictError", "TrainingDiverged", "DataError",
                 "ModelFileError"):  # fmt: skip
        assert issubclass(getattr(errors, name), errors.UserError)
