"""``chainrule predict`` of a model that indexes with its input says why it fails, uncut.

The rows are read and cast to the model's float dtype, so an embedding lookup ``self.table[x]``
met a float index; the one line the CLI printed kept the first line of the error, a repr cut
mid-array (``(IndexError: getitem: index array([[ 1.,  2.,  3.],);``). Now the whole refusal is
on the line, naming the index's shape and dtype and the cast to write in forward, and the model
that casts predicts what it computes in memory (the oracle).
"""

from __future__ import annotations

import json

import numpy as np
from cli_run import assert_user_error, run

from chainrule import io, nn

ROWS = np.array([[1, 2, 3], [6, 0, 5], [4, 4, 4], [0, 1, 0]])


class _LookupS70(nn.Module):
    """An embedding table of 7 words of 2 features, looked up for 3 words per row."""

    def __init__(self, cast: bool = False) -> None:
        super().__init__()
        self.cast = cast
        self.table = nn.Parameter(np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32))

    def forward(self, idx):
        if self.cast:
            idx = idx.astype("int64")
        return self.table[idx].reshape(idx.shape[0], 6)

    def config(self):
        return {"type": "_LookupS70", "cast": self.cast}


nn.register_module(_LookupS70, name="_LookupS70")


def _saved(tmp_path, cast: bool):
    model = nn.Sequential(_LookupS70(cast), nn.Linear(6, 7, rng=1))
    io.save_model(tmp_path / "m", model, loss=nn.CrossEntropy())
    rows = tmp_path / "x.csv"
    rows.write_text("\n".join(",".join(map(str, row)) for row in ROWS) + "\n")
    return model, tmp_path / "m", rows


def test_the_one_line_holds_the_whole_refusal_of_a_float_index(tmp_path, capsys) -> None:
    _, model, rows = _saved(tmp_path, cast=False)
    line = assert_user_error(capsys, "predict", model, "--input", rows,
                             match="getitem: index <float32 tensor of shape (4, 3)> does not "
                             "fit shape (7, 2): arrays used as indices must be of integer (or "
                             "boolean) type, and it holds a float32 array")  # fmt: skip
    assert "astype('int64')" in line and "2**24" in line, line
    assert line.endswith("its first layer is a module of your own"), line


def test_a_model_that_casts_its_indices_back_predicts_what_it_computes(tmp_path, capsys) -> None:
    model, path, rows = _saved(tmp_path, cast=True)
    code, out, err = run(capsys, "predict", path, "--input", rows, "--json")
    assert code == 0, err
    got = np.array([row["outputs"] for row in json.loads(out)["predictions"]])
    logits = model(ROWS).numpy().astype(np.float64)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


class _PairsS70(nn.Module):
    """Columns in pairs, by a 2-D array of positions, of which 9 is past the rows' 3."""

    def forward(self, x):
        return x[:, np.array([[0, 1], [2, 9]])].reshape(x.shape[0], 4)

    def config(self):
        return {"type": "_PairsS70"}


class _SaysS70(nn.Module):
    """A module of one's own whose refusal spans lines (a repr of the rows it met)."""

    def forward(self, x):
        raise ValueError(f"wants words, got\n{x.numpy()[:2]!r}\nand more")

    def config(self):
        return {"type": "_SaysS70"}


nn.register_module(_PairsS70, name="_PairsS70")
nn.register_module(_SaysS70, name="_SaysS70")


def _refused_line(tmp_path, capsys, first, match: str) -> str:
    io.save_model(tmp_path / "m", nn.Sequential(first, nn.Linear(4, 2, rng=0)),
                  loss=nn.CrossEntropy())  # fmt: skip
    rows = tmp_path / "x.csv"
    rows.write_text("\n".join(",".join(map(str, row)) for row in ROWS) + "\n")
    return assert_user_error(capsys, "predict", tmp_path / "m", "--input", rows, match=match)


def test_a_key_whose_repr_spans_lines_is_named_by_its_dtype_and_shape(tmp_path, capsys) -> None:
    line = _refused_line(tmp_path, capsys, _PairsS70(), match="index (slice(None, None, None), "
                         "<int64 array of shape (2, 2)>) does not fit shape (4, 3)")  # fmt: skip
    assert line.endswith("its first layer is a module of your own"), line


def test_a_refusal_of_many_lines_is_kept_whole_on_one(tmp_path, capsys) -> None:
    said = (
        "(ValueError: wants words, got array([[1., 2., 3.], [6., 0., 5.]], dtype=float32) and more)"
    )
    line = _refused_line(tmp_path, capsys, _SaysS70(), match=said)
    assert line.endswith("its first layer is a module of your own"), line
