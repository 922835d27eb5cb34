"""Under detect_anomaly, a NaN or Inf in a second derivative names the user's line: the ops a
rule records (create_graph) take the origin of the op whose rule it is."""

import inspect

import numpy as np
import pytest

import chainrule as cr


def test_a_hessians_inf_names_the_line_of_the_op():
    x = cr.tensor([0.0, 1.0])
    anomaly, quiet = cr.detect_anomaly(), np.errstate(divide="ignore")
    with anomaly, quiet, pytest.raises(cr.AnomalyError) as error:
        line = inspect.currentframe().f_lineno + 1
        cr.hessian(lambda a: (a**1.5).sum())(x)  # d2/da2 = 0.75 a^-0.5: inf at a = 0
    said = str(error.value)
    assert "backward produced Inf" in said
    assert f"test_anomaly_second_order.py:{line}, in the backward of power" in said


def test_a_finite_second_derivative_still_passes_under_anomaly_mode():
    with cr.detect_anomaly():
        h = cr.hessian(lambda a: (a**3).sum())(cr.tensor([1.0, 2.0]))
    np.testing.assert_allclose(h.numpy(), np.diag([6.0, 12.0]))  # 6 a
