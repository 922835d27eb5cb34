"""Shared fixtures."""

import pytest


@pytest.fixture
def torch():
    """PyTorch, the second reference: a test that takes this fixture is skipped (alone) where
    torch is not installed; the closed-form and finite-difference tests beside it still run."""
    return pytest.importorskip("torch")
