"""QA s58: the LaTeX output set command-line options in its prose as `--unit`, which LaTeX
prints in text mode as an en-dash and "unit". Every option the write-up names (--unit,
--bug, --max-checks, --no-symbolic, --input) now prints with its two hyphens, and the document
still compiles. (The command's write-up: rendered from Python, the prose names explain's
keyword arguments instead, s71.)"""

import re
import shutil

from explain_cases import pdflatex

from chainrule import nn
from chainrule.explainer import explain, render

#: an option as the text write-up names it
OPTION = re.compile(r"--[a-z][a-z-]*")


def _derivations():
    """Write-ups whose prose names options: the seed's checks (--unit 0:1 or 0:2), a bug's heading
    and note (--bug, --input), a sampled check's note (--max-checks) and a symbolic proof
    skipped for its size (--unit, --no-symbolic)."""
    wide = nn.mlp([4, 9, 3], dtype="float64", rng=0)
    small = nn.mlp([2, 2, 2], dtype="float64", rng=3)  # no two equal leaves: a note on it
    return {
        "seed": explain(),
        "merged-leaves": explain(small, [[0.1, 0.7]], [[1.0, 0.0]], bug="merged-leaves"),
        "max-checks": explain(max_checks=3),
        "too large": explain(wide, [[0.1, 0.2, 0.3, 0.4]], [[1.0, 0.0, 0.0]], symbolic=True),
    }


def test_every_option_in_the_latex_prose_keeps_its_two_hyphens_and_compiles(tmp_path):
    named = set()
    for name, d in _derivations().items():
        options = set(OPTION.findall(render(d, "text", host="cli")))
        assert options, name
        named |= options
        for notation in ("hinton", "matrix"):
            latex = render(d, "latex", notation=notation, host="cli")
            # an option name after -- (or ---) would print as an en-dash (an em-dash) and a word
            dashed = re.findall(r".{0,40}--+[a-z].{0,20}", latex)
            assert not dashed, (name, dashed)
            for option in options:  # each one there, its hyphens kept apart
                assert "-{}-" + option[2:] in latex, (name, option)
        if shutil.which("pdflatex") is not None:  # and it still compiles
            result = pdflatex(tmp_path, name.replace(" ", "-"), render(d, "latex", host="cli"))
            assert result.returncode == 0, (name, result.stdout[-2000:])
    assert {"--unit", "--bug", "--max-checks", "--no-symbolic", "--input"} <= named
