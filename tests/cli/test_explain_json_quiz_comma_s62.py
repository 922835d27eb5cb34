"""``chainrule explain --json`` is ``--format json``; a decimal comma in --answer is said (s62)."""

import json

from cli_run import assert_user_error, run


def test_explain_json_is_format_json(capsys):
    code, out, _ = run(capsys, "explain", "--json", "--no-symbolic", "--no-perturbation")
    assert code == 0
    as_json = json.loads(out)
    code, out, _ = run(capsys, "explain", "--format", "json", "--no-symbolic", "--no-perturbation")
    assert json.loads(out).keys() == as_json.keys()
    run(capsys, "explain", "--json", "--format", "json", "--no-symbolic", "--no-perturbation")


def test_json_with_another_format_is_one_line(capsys):
    assert_user_error(
        capsys, "explain", "--json", "--format", "latex", match="--json is --format json"
    )


def test_a_decimal_comma_gets_a_hint(capsys):
    line = assert_user_error(capsys, "quiz", "--seed", "7", "--answer", "-0,2183", match="comma")
    assert "decimal point" in line
