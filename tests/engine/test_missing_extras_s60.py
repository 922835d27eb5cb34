"""The symbolic explainer's public functions and ``RunConfig.from_json`` without their extra's
package: a :class:`~chainrule.errors.MissingExtraError` naming the package and the [app] extra,
not a bare ModuleNotFoundError (nor, for sympy without its mpmath, sympy's own ImportError).

Each case runs in a subprocess where the packages named are absent as they are when not
installed (tests/engine/hidden_modules.py, as test_s58_missing_extras.py does).
"""

from __future__ import annotations

import pytest
from test_s58_missing_extras import APP, _cli, _raised, _run

#: a derivation made without sympy (no proof asked), and sympy's proof of one of its sums
PROVE = """
import chainrule as cr
from chainrule.explainer import symbolic
d = cr.explain(perturbation=False, views=False, paths=False)
symbolic.prove(d, 1, 0)
"""


@pytest.mark.parametrize("absent", ["sympy", "mpmath"])
def test_prove_without_sympy_or_its_mpmath_names_the_extra(absent, tmp_path):
    message = _raised((absent,), PROVE, tmp_path)
    assert message == f"symbolic mode (the sympy proof) needs {absent}, {APP}"


def test_explain_symbolic_without_mpmath_skips_the_proof_saying_why(tmp_path):
    code = """
import chainrule as cr
d = cr.explain(symbolic=True)
print(d.all_ok, d.symbolic)
"""
    done = _run(("mpmath",), code, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    message = f"symbolic mode (the sympy proof) needs mpmath, {APP}"
    assert done.stdout.strip() == f"True {{'status': 'skipped', 'message': {message!r}}}"


def test_chainrule_explain_without_mpmath_prints_the_derivation_and_why_no_proof(tmp_path):
    done = _cli(("mpmath",), ["explain"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Backward pass" in done.stdout  # the derivation, checked, without the proof
    assert "Traceback" not in done.stderr
    note = f"note: symbolic mode (the sympy proof) needs mpmath, {APP}"
    assert done.stderr.strip().splitlines() == [note]


def test_run_config_from_json_without_pydantic_names_the_extra(tmp_path):
    code = """
from chainrule.train.runs import RunConfig
RunConfig.from_json({"data": "xor"})
"""
    message = _raised(("pydantic",), code, tmp_path)
    assert message == f"RunConfig.from_json needs pydantic, {APP}"
