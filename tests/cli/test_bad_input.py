"""Bad input, command by command: every case exits 2 with ONE ``chainrule:`` line on stderr that
names the problem (and the file, where there is one), no traceback, nothing created or changed on
disk, and a bounded peak of memory.

The cases run the real entry point, :func:`chainrule.cli.main`, in-process (fast); a few at the
end run ``python -m chainrule`` as a subprocess, to see exactly what a user sees. Each case builds
its own bad file in a fresh directory from a good model, checkpoint or data file made once.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from chainrule import data
from chainrule.cli import main

#: No bad input may make a command allocate more than this (peak, traced by tracemalloc, which
#: sees NumPy's arrays too). A good run of these tiny problems stays far below.
MEMORY_LIMIT = 64 * 2**20


@dataclass
class Assets:
    """Good files made once per module: a trained XOR run and a 3-class CSV run."""

    root: Path
    xor_run: Path
    csv_run: Path
    blobs: Path

    @property
    def xor_model(self) -> Path:
        return self.xor_run / "model"


def _blobs(path: Path, n: int = 30) -> Path:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 4)) + 3 * np.eye(4)[y]
    lines = ["f1,f2,f3,f4,label"] + [
        ",".join(f"{v:.4f}" for v in x) + f",{t}" for x, t in zip(X, y)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def assets(tmp_path_factory) -> Assets:
    root = tmp_path_factory.mktemp("good")
    blobs = _blobs(root / "blobs.csv")
    for args in (
        ["train", "--data", "xor", "--epochs", "4", "--out", str(root / "xor"), "-q"],
        ["train", "--data", str(blobs), "--epochs", "2", "--out", str(root / "blobs"), "-q"],
    ):
        assert main(args) == 0
    return Assets(root, root / "xor", root / "blobs", blobs)


# -- building bad files ---------------------------------------------------------------------------


def text_file(tmp: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def model_copy(
    tmp: Path,
    source: Path,
    edit_json: Callable[[dict], object] | None = None,
    edit_weights: Callable[[bytes], bytes] | None = None,
) -> Path:
    """A copy of a saved model with its model.json (a function that edits the dict in place) or
    its model.safetensors (a function of the bytes) tampered with."""
    target = tmp / "model"
    shutil.copytree(source, target)
    if edit_json is not None:
        description = json.loads((target / "model.json").read_text())
        edit_json(description)
        (target / "model.json").write_text(json.dumps(description))
    if edit_weights is not None:
        path = target / "model.safetensors"
        path.write_bytes(edit_weights(path.read_bytes()))
    return target


def run_copy(tmp: Path, assets: Assets, edit_state: Callable[[dict], object]) -> Path:
    """A copy of the XOR run whose latest checkpoint's trainer.json is tampered with."""
    target = tmp / "run"
    shutil.copytree(assets.xor_run, target)
    latest = sorted((target / "checkpoints").glob("epoch-*"))[-1]
    state = json.loads((latest / "trainer.json").read_text())
    edit_state(state)
    (latest / "trainer.json").write_text(json.dumps(state))
    return target


def setitem(path: str, value: object) -> Callable[[dict], None]:
    """An edit that sets ``a/b/c`` to ``value`` (or deletes it when value is DELETE)."""

    def edit(doc: dict) -> None:
        *parents, last = path.split("/")
        for key in parents:
            doc = doc[key]
        if value is DELETE:
            del doc[last]
        else:
            doc[last] = value

    return edit


DELETE = object()


def safetensors_header(blob: bytes) -> tuple[dict, bytes]:
    length = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8 : 8 + length]), blob[8 + length :]


def with_header(header: dict, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


def nan_weights(blob: bytes) -> bytes:
    header, body = safetensors_header(blob)
    begin = header["0.weight"]["data_offsets"][0]
    itemsize = 4 if header["0.weight"]["dtype"] == "F32" else 8
    nan = np.array([np.nan], dtype=np.float32 if itemsize == 4 else np.float64).tobytes()
    return with_header(header, body[:begin] + nan + body[begin + itemsize :])


def claim_shape(name: str, shape: list[int]) -> Callable[[bytes], bytes]:
    def edit(blob: bytes) -> bytes:
        header, body = safetensors_header(blob)
        header[name]["shape"] = shape
        return with_header(header, body)

    return edit


def idx_dir(tmp: Path, images: bytes | np.ndarray, labels: bytes | np.ndarray, gz=False) -> Path:
    directory = tmp / "idx"
    directory.mkdir()
    suffix = ".gz" if gz else ""
    for kind, content in (("images-idx3", images), ("labels-idx1", labels)):
        path = directory / f"train-{kind}-ubyte{suffix}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            data.write_idx(path, content)
    return directory


def idx_header(code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


GOOD_IMAGES = np.arange(5 * 2 * 2, dtype=np.uint8).reshape(5, 2, 2)
GOOD_LABELS = np.array([0, 1, 0, 1, 0], dtype=np.uint8)


# -- the cases ------------------------------------------------------------------------------------

#: A case: (id, build) where build(tmp, assets) gives (argv, words the error line must contain).
Build = Callable[[Path, Assets], tuple[list, list[str]]]
CASES: list[tuple[str, Build]] = []


def case(name: str):
    def register(build: Build) -> Build:
        CASES.append((name, build))
        return build

    return register


def simple(name: str, argv: list, *words: str) -> None:
    """A case needing no files."""
    CASES.append((name, lambda tmp, a: (argv, list(words))))


# train: option values out of range or malformed (nothing may be written: not even runs/)
for option, value, word in [
    ("--hidden", "abc", "--hidden"),
    ("--hidden", "0", "--hidden"),
    ("--hidden", "-3", "--hidden"),
    ("--hidden", "99999999999", "--hidden"),
    ("--hidden", "4,,x", "--hidden"),
    ("--hidden", "", "--hidden"),
    ("--hidden", "1000000,1000000", "weights"),
    ("--activation", "sine", "--activation"),
    ("--loss", "hinge", "--loss"),
    ("--optimizer", "lbfgs", "--optimizer"),
    ("--lr", "0", "--lr"),
    ("--lr", "-1", "--lr"),
    ("--lr", "nan", "--lr"),
    ("--lr", "inf", "--lr"),
    ("--lr", "fast", "--lr"),
    ("--lr", "1e308", "learning rate"),
    ("--momentum", "1", "--momentum"),
    ("--momentum", "-0.1", "--momentum"),
    ("--momentum", "x", "--momentum"),
    ("--weight-decay", "-1", "--weight-decay"),
    ("--weight-decay", "nan", "--weight-decay"),
    ("--epochs", "0", "--epochs"),
    ("--epochs", "-5", "--epochs"),
    ("--epochs", "1.5", "--epochs"),
    ("--epochs", "ten", "--epochs"),
    ("--batch-size", "0", "--batch-size"),
    ("--batch-size", "-2", "--batch-size"),
    ("--batch-size", "half", "--batch-size"),
    ("--seed", "-1", "--seed"),
    ("--seed", "x", "--seed"),
    ("--seed", str(2**40), "--seed"),
    ("--schedule", "step", "--schedule"),
    ("--early-stopping", "0", "--early-stopping"),
    ("--early-stopping", "soon", "--early-stopping"),
    ("--dtype", "float16", "--dtype"),
    ("--dtype", "object", "--dtype"),
    ("--data", "mnist", "unknown dataset"),
    ("--data", "missing.csv", "missing.csv"),
    ("--data", "nowhere/", "nowhere"),
]:
    data_args = [] if option == "--data" else ["--data", "xor"]
    simple(f"train {option} {value!r}", ["train", *data_args, option, value], word)
simple("train --momentum with adam", ["train", "--optimizer", "adam", "--momentum", "0.5"], "adam")
simple("train --schedule family-trees with adam (the default for a CSV)",
       ["train", "--data", "xor", "--optimizer", "adam", "--schedule", "family-trees"],
       "--schedule family-trees", "adam", "--optimizer momentum")  # fmt: skip
simple("train --data empty", ["train", "--data", ""], "--data")
simple("quiz --seed negative", ["quiz", "--seed", "-1", "--answer", "0"], "--seed")
simple("graph --out of an unknown suffix", ["graph", "--out", "g.png"], "--out")
simple("explain --input no file", ["explain", "--input", "no.csv", "--target", "1"], "no such file")
simple("explain --arch without --torch-model", ["explain", "--arch", "4,3,2"], "--torch-model")
simple("serve --case without --model", ["serve", "--case", "3", "--host", "256.0.0.1"], "--model")
simple("train unknown option", ["train", "--colour", "red"], "--colour")
simple("unknown command", ["fly"], "fly")


@case("train --loss bce on 3 classes")
def _(tmp, a):
    return ["train", "--data", a.blobs, "--loss", "binary-cross-entropy"], ["two classes"]


@case("train --out is a file")
def _(tmp, a):
    return ["train", "--data", "xor", "--out", text_file(tmp, "x", "taken")], ["taken", "directory"]


@case("train --out is a non-empty directory")
def _(tmp, a):
    text_file(tmp, "x", "full/keep.txt")
    return ["train", "--data", "xor", "--out", tmp / "full"], ["full", "not empty"]


@case("train --out below a file")
def _(tmp, a):
    text_file(tmp, "x", "plain")
    return ["train", "--data", "xor", "--epochs", "1", "--out", tmp / "plain" / "run"], ["plain"]


@case("train --out where nothing may be created")
def _(tmp, a):
    return ["train", "--data", "xor", "--epochs", "1", "--out", "/proc/chainrule-run"], ["/proc"]


@case("train --data a file of another kind")
def _(tmp, a):
    return ["train", "--data", text_file(tmp, "x", "data.bin")], ["data.bin", "not a CSV"]


# CSV files: every way a table can be wrong, through train --data
CSV_CASES = [
    ("empty file", "", "empty"),
    ("blank lines only", "\n\n \n", "empty"),
    ("header only", "a,b,label\n", "no data rows"),
    ("one column", "1\n2\n3\n", "at least one"),
    ("ragged row", "1,2,0\n3,1\n", "line 2"),
    ("text cell", "1,2,0\n3,x,1\n", "line 2"),
    ("empty cell", "1,2,0\n3,,1\n", "empty cell"),
    ("nan cell", "1,nan,0\n3,4,1\n", "finite"),
    ("inf cell", "1,2,0\n-inf,4,1\n", "finite"),
    ("1e400", "1,1e400,0\n3,4,1\n", "finite"),
    ("1e300 in float32", "1,1e300,0\n3,4,1\n5,6,0\n", "too large"),
    ("fractional label", "1,2,0.5\n3,4,1\n", "not an integer"),
    ("negative label", "1,2,-1\n3,4,1\n", "out of range"),
    ("label 1e9", "1,2,0\n3,4,1000000000\n5,6,1\n" * 4, "class numbers appear"),
    ("one class", "1,2,0\n3,4,0\n5,6,0\n" * 4, "two classes"),
    ("two rows: no test split", "1,2,0\n3,4,1\n", "split"),
    ("unterminated quote", '1,2,0\n"3,4,1\n', "line"),
    ("header with one feature, one class", "a,b\n1,2\n", "two classes"),
]
for name, content, word in CSV_CASES:
    CASES.append(
        (
            f"train CSV {name}",
            lambda tmp, a, c=content, w=word: (
                ["train", "--data", text_file(tmp, c), "--epochs", "1"],
                ["data.csv", w],
            ),
        )
    )


@case("train CSV not UTF-8")
def _(tmp, a):
    return ["train", "--data", text_file(tmp, b"\xff\xfe\x00\x81,\x90\n")], ["data.csv", "UTF-8"]


@case("train CSV that is a directory")
def _(tmp, a):
    (tmp / "dir.csv").mkdir()
    return ["train", "--data", tmp / "dir.csv"], ["dir.csv"]


# IDX directories: headers, lengths, compression, contents
IDX_CASES = [
    ("bad magic", b"\x01\x02\x08\x03" + b"\x00" * 12, GOOD_LABELS, "magic"),
    ("unknown dtype code", b"\x00\x00\x07\x03" + b"\x00" * 12, GOOD_LABELS, "magic"),
    ("zero dimensions", b"\x00\x00\x08\x00", GOOD_LABELS, "magic"),
    ("too short", b"\x00\x00", GOOD_LABELS, "too short"),
    ("truncated header", b"\x00\x00\x08\x03\x00\x00", GOOD_LABELS, "truncated"),
    ("truncated data", idx_header(8, (5, 2, 2)) + b"\x00" * 7, GOOD_LABELS, "truncated"),
    ("trailing bytes", idx_header(8, (5, 2, 2)) + b"\x00" * 21, GOOD_LABELS, "trailing"),
    ("huge claimed size", idx_header(8, (2**31, 2**31, 2**31)), GOOD_LABELS, "need"),
    ("zero images", idx_header(8, (0, 2, 2)), np.zeros(0, np.uint8), "no images"),
    ("one-dimensional images", np.arange(5, dtype=np.uint8), GOOD_LABELS, "dimensions"),
    (
        "NaN pixels",
        np.where(GOOD_IMAGES == 3, np.nan, GOOD_IMAGES).astype(np.float32),
        GOOD_LABELS,
        "NaN",
    ),
    ("labels of another count", GOOD_IMAGES, GOOD_LABELS[:3], "3 labels"),
    ("float labels", GOOD_IMAGES, GOOD_LABELS.astype(np.float32), "integer"),
    ("two-dimensional labels", GOOD_IMAGES, GOOD_LABELS.reshape(5, 1), "1-D"),
]
for name, images, labels, word in IDX_CASES:
    CASES.append(
        (
            f"train IDX {name}",
            lambda tmp, a, i=images, lab=labels, w=word: (
                ["train", "--data", idx_dir(tmp, i, lab), "--epochs", "1"],
                ["idx", w],
            ),
        )
    )


@case("train IDX gzip with a broken deflate stream")
def _(tmp, a):
    broken = gzip.compress(idx_header(8, (5, 2, 2)) + bytes(20))
    broken = broken[:10] + bytes(b ^ 0x5A for b in broken[10:-8]) + broken[-8:]
    return ["train", "--data", idx_dir(tmp, broken, GOOD_LABELS, gz=True)], ["images", "gz"]


@case("train IDX gzip cut short")
def _(tmp, a):
    cut = gzip.compress(idx_header(8, (5, 2, 2)) + bytes(20))[:-12]
    return ["train", "--data", idx_dir(tmp, cut, GOOD_LABELS, gz=True)], ["images", "gz"]


@case("train IDX directory with no pair")
def _(tmp, a):
    (tmp / "idx").mkdir()
    text_file(tmp, "x", "idx/readme.txt")
    return ["train", "--data", tmp / "idx"], ["idx", "no IDX"]


# model files: every field of model.json tampered, and the weights file damaged
MODEL_JSON_CASES = [
    ("not JSON", None, "not valid JSON"),
    ("format", setitem("format", "keras"), "not a chainrule"),
    ("version string", setitem("version", "one"), "'version'"),
    ("version newer", setitem("version", 99), "newer"),
    ("version 0", setitem("version", 0), "'version'"),
    ("version missing", setitem("version", DELETE), "'version'"),
    ("dtype object", setitem("dtype", "object"), "'dtype'"),
    ("dtype number", setitem("dtype", 3), "'dtype'"),
    ("parameters not a dict", setitem("parameters", [1]), "'parameters'"),
    ("parameters empty", setitem("parameters", {}), "'parameters'"),
    ("parameter shape wrong", setitem("parameters/0.weight", [7, 7]), "'0.weight'"),
    ("parameter dim negative", setitem("parameters/0.weight", [-2, 3]), "'parameters"),
    ("parameter dim text", setitem("parameters/0.weight", ["2", 3]), "'parameters"),
    (
        "parameter renamed",
        lambda d: d["parameters"].update({"9.weight": d["parameters"].pop("0.weight")}),
        "'9.weight'",
    ),
    ("class_names a number", setitem("class_names", 5), "'class_names'"),
    ("class_names of numbers", setitem("class_names", [1, 2]), "'class_names"),
    ("class_names too many", setitem("class_names", ["a", "b", "c"]), "'class_names'"),
    ("meta a string", setitem("meta", "x"), "'meta'"),
    ("meta a list", setitem("meta", []), "'meta'"),
    ("architecture missing", setitem("architecture", DELETE), "'architecture'"),
    ("architecture a string", setitem("architecture", "mlp"), "'architecture'"),
    ("architecture unknown type", setitem("architecture/type", "Transformer"), "architecture"),
    (
        "architecture 8000x8000",
        lambda d: d["architecture"]["layers"][0].update(n_in=8000, n_out=8000),
        "'architecture'",
    ),
    (
        "architecture 40000x40000",
        lambda d: d["architecture"]["layers"][0].update(n_in=40000, n_out=40000),
        "'architecture'",
    ),
    (
        "architecture size negative",
        lambda d: d["architecture"]["layers"][0].update(n_in=-2),
        "architecture",
    ),
    ("loss a number", setitem("loss", 5), "'loss'"),
    ("standardizer a string", setitem("standardizer", "z"), "'standardizer'"),
    (
        "standardizer zero std",
        setitem("standardizer", {"mean": [0, 0], "std": [1, 0]}),
        "'standardizer",
    ),
    (
        "standardizer wrong length",
        setitem("standardizer", {"mean": [0], "std": [1]}),
        "'standardizer'",
    ),
    (
        "standardizer NaN",
        setitem("standardizer", {"mean": [float("nan"), 0], "std": [1, 1]}),
        "'standardizer",
    ),
    ("whole file empty", lambda d: d.clear(), "not a chainrule"),
]


def tampered_model(tmp: Path, a: Assets, edit) -> Path:
    if edit is None:
        target = model_copy(tmp, a.xor_model)
        (target / "model.json").write_text('{"format": "chainrule-model", ')
        return target
    return model_copy(tmp, a.xor_model, edit_json=edit)


for name, edit, word in MODEL_JSON_CASES:
    for command in ("evaluate", "predict", "explain"):
        if command != "evaluate" and name not in (
            "version string",
            "parameters empty",
            "architecture 8000x8000",
            "dtype object",
            "class_names too many",
            "standardizer NaN",
        ):
            continue  # fmt: skip

        def build(tmp, a, e=edit, w=word, c=command):
            model = tampered_model(tmp, a, e)
            argv = {
                "evaluate": ["evaluate", model],
                "predict": ["predict", model, "--input", text_file(tmp, "1,0\n0,1\n", "in.csv")],
                "explain": ["explain", "--model", model, "--input", "1,0", "--target", "1"],
            }[c]
            return argv, ["model.json", w]

        CASES.append((f"{command} model.json {name}", build))

WEIGHTS_CASES = [
    ("empty", lambda b: b"", "safetensors"),
    ("truncated", lambda b: b[:-5], "safetensors"),
    ("header cut", lambda b: b[:20], "safetensors"),
    ("garbage", lambda b: os.urandom(64), "safetensors"),
    ("header length huge", lambda b: (2**60).to_bytes(8, "little") + b[8:], "safetensors"),
    ("header not JSON", lambda b: (4).to_bytes(8, "little") + b"{{{{" + b[12:], "safetensors"),
    ("shape larger than the data", claim_shape("0.weight", [4000, 4000]), "safetensors"),
    ("NaN weights", nan_weights, "NaN"),
]
for name, edit, word in WEIGHTS_CASES:
    for command in ("evaluate", "predict"):

        def build(tmp, a, e=edit, w=word, c=command):
            model = model_copy(tmp, a.xor_model, edit_weights=e)
            extra = ["--input", text_file(tmp, "1,0\n", "in.csv")] if c == "predict" else []
            return [c, model, *extra], ["model.safetensors", w]

        CASES.append((f"{command} weights {name}", build))


@case("evaluate weights file missing")
def _(tmp, a):
    model = model_copy(tmp, a.xor_model)
    (model / "model.safetensors").unlink()
    return ["evaluate", model], ["model.safetensors", "not found"]


@case("evaluate model.json is a directory")
def _(tmp, a):
    model = model_copy(tmp, a.xor_model)
    (model / "model.json").unlink()
    (model / "model.json").mkdir()
    return ["evaluate", model], ["model.json", "directory"]


@case("evaluate model.json nested too deeply")
def _(tmp, a):
    model = model_copy(tmp, a.xor_model)
    (model / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    return ["evaluate", model], ["model.json", "nested"]


def _softmax_over_axis_3(description: dict) -> None:
    """A top layer a library user may save for 4-d batches; every command feeds 2-d rows."""
    description["architecture"]["layers"][-1] = {"type": "Softmax", "axis": 3}


# export traces the model for ONNX alone (without the [onnx] extra it stops before, saying so)
_RUN_BY = ("evaluate", "predict", "graph") + (("export",) if find_spec("onnx") else ())
for command in _RUN_BY:

    def build(tmp, a, c=command):
        model = model_copy(tmp, a.xor_model, edit_json=_softmax_over_axis_3)
        argv = {
            "evaluate": ["evaluate", model],
            "predict": ["predict", model, "--input", text_file(tmp, "1,0\n", "in.csv")],
            "export": ["export", model, "--format", "onnx", "--out", tmp / "m.onnx"],
            "graph": ["graph", "--model", model, "--out", tmp / "g.svg"],
        }[c]
        return argv, ["softmax", "axis 3", "2 dimensions"]

    CASES.append((f"{command} a model whose softmax axis its rows lack", build))


simple("evaluate missing model", ["evaluate", "no-such-model"], "no-such-model")
simple("predict missing model", ["predict", "no-such-model", "--input", "x.csv"], "no-such-model")


@case("evaluate --data of another width")
def _(tmp, a):
    return ["evaluate", a.xor_run, "--data", "parity"], ["parity", "expects 2"]


@case("evaluate --data with too many classes")
def _(tmp, a):
    csv = text_file(tmp, "1,2,0\n3,4,7\n")
    return ["evaluate", a.xor_run, "--data", csv], ["data", "7"]


@case("evaluate --data bad CSV")
def _(tmp, a):
    return ["evaluate", a.xor_run, "--data", text_file(tmp, "1,0,0\n1,x,0\n")], [
        "data.csv",
        "line 2",
    ]


# predict: the input file and the output path
PREDICT_INPUTS = [
    ("missing input", None, "no such file"),
    ("empty input", "", "empty"),
    ("input of another width", "1,2,3,4\n", "columns"),
    ("input text cell", "0,1\n1,a\n", "line 2"),
    ("input nan", "1,nan\n", "finite"),
    ("input ragged", "1,2\n3\n", "line 2"),
    ("input 1e300", "1e300,1\n", "too large"),
]
for name, content, word in PREDICT_INPUTS:

    def build(tmp, a, c=content, w=word):
        path = tmp / "in.csv" if c is None else text_file(tmp, c, "in.csv")
        return ["predict", a.xor_run, "--input", path], ["in.csv", w]

    CASES.append((f"predict {name}", build))


@case("predict --input is a directory")
def _(tmp, a):
    (tmp / "in.csv").mkdir()
    return ["predict", a.xor_run, "--input", tmp / "in.csv"], ["in.csv"]


for where, word in [
    ("missing/out.csv", "missing"),
    ("out-dir", "out-dir"),
    ("file/out.csv", "file"),
]:

    def build(tmp, a, where=where, word=word):
        (tmp / "out-dir").mkdir()
        text_file(tmp, "x", "file")
        good = text_file(tmp, "1,0\n", "in.csv")
        return ["predict", a.xor_run, "--input", good, "--output", tmp / where], [word]

    CASES.append((f"predict --output {where}", build))


@case("predict --output where nothing may be written")
def _(tmp, a):
    good = text_file(tmp, "1,0\n", "in.csv")
    return ["predict", a.xor_run, "-i", good, "-o", "/proc/chainrule.csv"], ["/proc/chainrule.csv"]


# train --resume: the checkpoint's trainer.json, field by field
CHECKPOINT_CASES = [
    ("epoch negative", setitem("epoch", -1), "'epoch'"),
    ("epoch text", setitem("epoch", "3"), "'epoch'"),
    ("epoch missing", setitem("epoch", DELETE), "'epoch'"),
    ("rng missing", setitem("rng", DELETE), "'rng'"),
    ("rng a string", setitem("rng", "seed"), "'rng'"),
    ("rng unknown generator", setitem("rng/bit_generator", "Dice"), "'rng"),
    ("rng state garbage", setitem("rng/state", {"state": "x", "inc": 1}), "'rng'"),
    ("rng state negative", setitem("rng/state", {"state": -5, "inc": -1}), "'rng'"),
    ("module rng garbage", setitem("module_rngs", {"0.rng": 5}), "'module_rngs"),
    ("optimizer missing", setitem("optimizer", DELETE), "'optimizer'"),
    ("optimizer config list", setitem("optimizer/config", [1]), "'optimizer"),
    # the optimizer's own checks, as its constructor runs them (they trained by gradient ascent
    # at lr -1, and died in a NumPy traceback inside the step at lr "x" or null)
    ("optimizer lr negative", setitem("optimizer/config/lr", -1), "lr must be a number >= 0"),
    ("optimizer lr text", setitem("optimizer/config/lr", "x"), "lr must be a number >= 0"),
    ("optimizer lr null", setitem("optimizer/config/lr", None), "lr must be a number >= 0"),
    ("optimizer momentum null", setitem("optimizer/config/momentum", None), "momentum must be"),
    ("optimizer nesterov text", setitem("optimizer/config/nesterov", "no"), "nesterov must be"),
    ("history a string", setitem("history", "long"), "'history'"),
    ("batch size 0", setitem("batch_size", 0), "'batch_size'"),
    ("format", setitem("format", "other"), "not a chainrule checkpoint"),
    ("meta a list", setitem("meta", [1]), "'meta'"),
    ("meta.run missing", setitem("meta/run", DELETE), "run configuration"),
    ("meta.run unknown key", lambda s: s["meta"]["run"].update(colour="red"), "colour"),
    ("meta.run hidden text", setitem("meta/run/hidden", "abc"), "hidden"),
    ("meta.run lr negative", setitem("meta/run/lr", -1.0), "--lr"),
    ("meta.run epochs text", setitem("meta/run/epochs", "many"), "epochs"),
    ("meta.run huge hidden", setitem("meta/run/hidden", [10**12]), "hidden"),
    ("meta.run seed negative", setitem("meta/run/seed", -1), "seed"),
    ("meta.run a list", setitem("meta/run", [1]), "meta.run"),
    (
        "meta.run data elsewhere",
        setitem("meta/run/data", "/no/such/data.csv"),
        ("data.csv", "no sha256"),
    ),
]
for name, edit, word in CHECKPOINT_CASES:

    def build(tmp, a, e=edit, w=word):
        words = list(w) if isinstance(w, tuple) else ["trainer.json", w]
        # more epochs than the run has done: a resume that trains (a finished run needs no data)
        return ["train", "--resume", run_copy(tmp, a, e), "--epochs", "8"], words

    CASES.append((f"train --resume trainer.json {name}", build))


@case("train --resume not JSON")
def _(tmp, a):
    run = run_copy(tmp, a, lambda s: None)
    latest = sorted((run / "checkpoints").glob("epoch-*"))[-1]
    (latest / "trainer.json").write_text("{")
    return ["train", "--resume", run], ["trainer.json", "JSON"]


@case("train --resume optimizer buffers missing")
def _(tmp, a):
    run = run_copy(tmp, a, lambda s: None)
    for latest in (run / "checkpoints").glob("epoch-*"):
        (latest / "optimizer.safetensors").unlink()
    return ["train", "--resume", run], ["optimizer.safetensors", "not found"]


@case("train --resume optimizer step count not one number")
def _(tmp, a):
    from chainrule import io

    run = run_copy(tmp, a, lambda s: None)
    latest = sorted((run / "checkpoints").glob("epoch-*"))[-1]
    arrays = io.read_arrays(latest / "optimizer.safetensors")
    arrays["optimizer/step.0"] = np.array([3, 4, 5])  # was a TypeError, not caught on resume
    io.write_arrays(latest / "optimizer.safetensors", arrays)
    return ["train", "--resume", run, "--epochs", "8"], ["step.0", "whole number"]


@case("train --resume a checkpoint's weights with NaN")
def _(tmp, a):
    run = run_copy(tmp, a, lambda s: None)
    latest = sorted((run / "checkpoints").glob("epoch-*"))[-1]
    path = latest / "model.safetensors"
    path.write_bytes(nan_weights(path.read_bytes()))
    return ["train", "--resume", run], ["model.safetensors", "NaN"]


simple("train --resume nothing there", ["train", "--resume", "no-run"], "no-run")


@case("train --resume an empty directory")
def _(tmp, a):
    (tmp / "empty").mkdir()
    return ["train", "--resume", tmp / "empty"], ["empty", "no complete checkpoint"]


@case("train --resume with a changed option")
def _(tmp, a):
    run = run_copy(tmp, a, lambda s: None)
    return ["train", "--resume", run, "--lr", "0.1"], ["--lr", "cannot change"]


@case("train --resume --out into a non-empty directory")
def _(tmp, a):
    run = run_copy(tmp, a, lambda s: None)
    text_file(tmp, "x", "busy/keep.txt")
    return ["train", "--resume", run, "--out", tmp / "busy"], ["busy", "not empty"]


@case("train --resume a checkpoint outside any run directory")
def _(tmp, a):
    run = run_copy(tmp, a, lambda s: None)
    latest = sorted((run / "checkpoints").glob("epoch-*"))[-1]
    shutil.move(str(latest), str(tmp / latest.name))
    shutil.rmtree(run)
    return ["train", "--resume", tmp / latest.name], ["run directory", "--out"]


# explain, graph, quiz, serve: options and inputs
for argv, word in [
    (["explain", "--digits", "-3"], "--digits"),
    (["explain", "--digits", "0"], "--digits"),
    (["explain", "--digits", "99"], "--digits"),
    (["explain", "--loss", "hinge"], "hinge"),
    (["explain", "--max-units", "-1"], "--max-units"),
    (["explain", "--max-cases", "0"], "--max-cases"),
    (["explain", "--unit", "x"], "unit"),
    (["explain", "--unit", "9:9"], "9"),
    (["explain", "--notation", "dirac"], "dirac"),
    (["explain", "--format", "pdf"], "pdf"),
    (["explain", "--input", "1,a", "--target", "1"], "not numbers"),
    (["explain", "--input", "1,0"], "--target"),
    (["explain", "--model", "no-model"], "no-model"),
    (["explain", "--input", "missing.csv", "--target", "1"], "missing.csv"),
    (["explain", "--input", "[[1, 2", "--target", "1"], "not numbers"),
    (["graph", "--kind", "tree"], "tree"),
    (["graph", "--format", "png"], "png"),
    (["graph", "--kind", "network", "--format", "dot"], "SVG"),
    (["graph", "--loss", "hinge"], "hinge"),
    (["quiz", "--kind", "dz", "--answer", "1"], "dz"),
    (["quiz", "--answer", "x"], "--answer"),
    (["serve", "--host", ""], "--host"),
    (["serve", "--port", "0"], "--port"),
    (["serve", "--port", "70000"], "--port"),
    (["serve", "--max-sessions", "0"], "--max-sessions"),
]:
    simple(" ".join(map(str, argv)), argv, word)


for case_args, word in [
    (["--case", "-1"], "case"),
    (["--case", "99999"], "case"),
]:
    CASES.append(
        (
            f"serve --model {' '.join(case_args)}",
            lambda tmp, a, c=case_args, w=word: (["serve", "--model", a.xor_run, *c], [w]),
        )
    )
simple("serve --model missing", ["serve", "--model", "no-such-run"], "no-such-run")

CASES.append(
    (
        "evaluate --data empty",
        lambda tmp, a: (["evaluate", a.xor_run, "--data", ""], ["dataset name is empty"]),
    )
)

# an empty path is refused by name: Path("") is ".", which a command would read or write into
for argv, option in [
    (["train", "--out", ""], "--out"),
    (["train", "--resume", ""], "--resume"),
    (["evaluate", ""], "MODEL"),
    (["predict", "", "--input", "x.csv"], "MODEL"),
    (["predict", "m", "--input", ""], "--input"),
    (["predict", "m", "--input", "x.csv", "--output", ""], "--output"),
    (["export", "", "--format", "onnx", "--out", "m.onnx"], "RUN"),
    (["export", "m", "--format", "onnx", "--out", ""], "--out"),
    (["explain", "--model", ""], "--model"),
    (["explain", "--torch-model", ""], "--torch-model"),
    (["explain", "--out", ""], "--out"),
    (["graph", "--model", ""], "--model"),
    (["graph", "--out", ""], "--out"),
    (["serve", "--model", ""], "--model"),
]:
    simple(f"{argv[0]} {option} empty", argv, option, "is empty")


@case("serve --model with a tampered model.json")
def _(tmp, a):
    run = tmp / "run"
    shutil.copytree(a.xor_run, run)
    path = run / "model" / "model.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": "1"}))
    return ["serve", "--model", run], ["model.json", "'version'"]


@case("explain --input a directory")
def _(tmp, a):
    (tmp / "cases.csv").mkdir()
    return ["explain", "--input", tmp / "cases.csv", "--target", "1"], ["cases.csv", "directory"]


@case("explain --input of another width for the model")
def _(tmp, a):
    return ["explain", "--model", a.xor_model, "--input", "1,2,3", "--target", "1"], ["model"]


@case("explain --out in a missing directory")
def _(tmp, a):
    return ["explain", "--format", "markdown", "--out", tmp / "no" / "x.md"], ["x.md"]


@case("explain --out onto a directory")
def _(tmp, a):
    (tmp / "x.md").mkdir()
    return ["explain", "--format", "markdown", "--out", tmp / "x.md"], ["x.md"]


@case("graph --out in a missing directory")
def _(tmp, a):
    return ["graph", "--out", tmp / "no" / "g.dot"], ["g.dot"]


# -- the checks -----------------------------------------------------------------------------------


def snapshot(*roots: Path) -> dict[str, tuple]:
    """Every file and directory under ``roots`` with its size and modification time."""
    seen = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            stat = path.lstat()
            # a directory counts by its entries (listed themselves), not its own size or time
            seen[str(path)] = (True,) if path.is_dir() else (stat.st_size, stat.st_mtime_ns)
    return seen


def test_there_are_at_least_200_cases():
    names = [name for name, _ in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    assert len(CASES) >= 200


@pytest.mark.parametrize("build", [b for _, b in CASES], ids=[name for name, _ in CASES])
def test_bad_input_is_one_line_and_exit_2(build, assets, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # a default run directory (runs/...) would appear here
    argv, words = build(work, assets)
    before = snapshot(work, assets.root)
    tracemalloc.start()
    try:
        code = main([str(arg) for arg in argv])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert code == 2, (code, err, out)
    assert len(lines) == 1 and lines[0].startswith("chainrule: "), err
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    assert snapshot(work, assets.root) == before, "a failed command changed files on disk"
    assert peak < MEMORY_LIMIT, f"peak {peak / 2**20:.0f} MiB"


# -- the defects of issue 11, one test each ------------------------------------------------------


def test_resume_never_writes_where_the_checkpoint_says(assets, tmp_path, monkeypatch, capsys):
    """A checkpoint whose meta.out names another directory must not make chainrule write or
    delete there; resuming from another working directory continues in the run's own one."""
    victim = tmp_path / "victim"
    (victim / "model").mkdir(parents=True)
    (victim / "model" / "precious.txt").write_text("keep me")
    (victim / "run.json").write_text('{"mine": true}')
    run = run_copy(tmp_path, assets, setitem("meta/out", str(victim)))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    before = snapshot(victim)
    assert main(["train", "--resume", str(run), "--epochs", "6", "-q"]) == 0
    capsys.readouterr()
    assert snapshot(victim) == before
    assert list(elsewhere.iterdir()) == []
    summary = json.loads((run / "run.json").read_text())
    assert summary["epochs"] == 6 and Path(summary["out"]) == run


def test_resume_into_a_new_out_directory(assets, tmp_path, capsys):
    run = run_copy(tmp_path, assets, lambda s: None)
    before = snapshot(run)
    assert main(["train", "--resume", str(run), "--out", str(tmp_path / "new"), "-q"]) == 0
    capsys.readouterr()
    assert snapshot(run) == before  # the original run is left as it was
    assert (tmp_path / "new" / "model" / "model.json").exists()


def test_a_huge_model_json_claim_allocates_nothing(assets, tmp_path):
    """40000 x 40000 weights claimed in 1 KB of JSON: refused from the safetensors header."""
    from chainrule import io
    from chainrule.errors import ModelFileError

    def grow(d):
        d["architecture"]["layers"][0].update(n_in=40000, n_out=40000)

    model = model_copy(tmp_path, assets.xor_model, edit_json=grow)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="'architecture' needs"):
            io.load_model(model)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_a_failed_run_leaves_no_empty_runs_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "xor", "--lr", "1e308"]) == 2
    assert "learning rate" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_numpy_warnings_do_not_leak_on_divergence(tmp_path, capsys):
    with _no_warnings():
        assert main(["train", "--data", "xor", "--lr", "1e308", "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


class _no_warnings:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self.seen = self._catch.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        runtime = [w for w in self.seen if issubclass(w.category, RuntimeWarning)]
        assert not runtime, [str(w.message) for w in runtime]


def test_a_kill_during_the_first_checkpoint_leaves_a_reusable_directory(tmp_path, capsys):
    out = tmp_path / "run"
    (out / "checkpoints" / ".tmp-epoch-000001.abc").mkdir(parents=True)
    (out / "checkpoints" / ".tmp-epoch-000001.abc" / "model.json").write_text("{")
    assert main(["train", "--data", "xor", "--epochs", "2", "--out", str(out), "-q"]) == 0
    assert (out / "model" / "model.json").exists()
    assert not list((out / "checkpoints").glob(".tmp-*"))


def test_one_class_and_nonexistent_classes_are_errors_not_numbers(assets, tmp_path, capsys):
    """A one-class CSV used to train and report 0.00%; class names that do not fit the outputs
    used to make predict answer a class that does not exist."""
    one = text_file(tmp_path, "1,2,0\n3,4,0\n5,6,0\n" * 5, "one.csv")
    assert main(["train", "--data", str(one), "--out", str(tmp_path / "r")]) == 2
    assert "two classes" in capsys.readouterr().err

    def few_names(d):
        d["class_names"] = ["a", "b"]

    model = model_copy(tmp_path, assets.csv_run / "model", edit_json=few_names)
    good = text_file(tmp_path, "1,2,3,4\n", "in.csv")
    assert main(["predict", str(model), "--input", str(good)]) == 2
    assert "'class_names' has 2 names for 3 output units" in capsys.readouterr().err


# -- a few as a user runs them: a real process ----------------------------------------------------


def _cli(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "chainrule", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.parametrize(
    "args, word",
    [
        (["train", "--seed", "-1"], "--seed"),
        (["quiz", "--seed", "-1", "--answer", "0"], "--seed"),
        (["explain", "--digits", "-3"], "--digits"),
        (["train", "--data", "x.csv"], "x.csv"),
    ],
)
def test_subprocess_prints_one_line(tmp_path, args, word):
    proc = _cli(*args, cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("chainrule: ") and word in err, err
    assert list(tmp_path.iterdir()) == []


def test_sigterm_stops_like_ctrl_c(tmp_path):
    out = tmp_path / "run"
    proc = _cli("train", "--data", "parity", "--epochs", "20000", "--out", str(out), cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not list((out / "checkpoints").glob("epoch-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "continue with: chainrule train --resume" in err
    assert "chainrule: terminated; the last complete checkpoint is" in err
    assert list((out / "checkpoints").glob("epoch-*"))


STOPS = [
    (signal.SIGTERM, 143, "chainrule: terminated"),
    (signal.SIGINT, 130, "chainrule: interrupted"),
]


@pytest.mark.parametrize(("sent", "code", "line"), STOPS)
def test_a_signal_at_quiz_prompt_says_which_and_exits_with_its_code(tmp_path, sent, code, line):
    """Outside train too: click turns a KeyboardInterrupt at a prompt into an Abort, so SIGTERM
    ended quiz as "interrupted" with Ctrl-C's 130, not 143 (a supervisor reads the code)."""
    # a shell's background job ignores SIGINT, and a child inherits that (Python then installs
    # no KeyboardInterrupt handler): give it the default, as a terminal's process has
    default = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    proc = _cli("quiz", cwd=tmp_path, stdin=subprocess.PIPE, preexec_fn=default)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait for the prompt: the question is printed first
        if proc.stdout.readline().startswith("Compute"):
            break
    time.sleep(0.5)
    proc.send_signal(sent)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == line, err


# -- operating-system errors that a test cannot cause for real as root -------------------------


def test_a_full_disk_is_one_line_naming_the_file(assets, tmp_path, monkeypatch, capsys):
    import errno

    from chainrule import files

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write_replace", full)
    good = text_file(tmp_path, "1,0\n", "in.csv")
    target = tmp_path / "out.csv"
    assert main(["predict", str(assets.xor_run), "-i", str(good), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"chainrule: --output {target}: cannot write (No space left on device)\n"
    run = tmp_path / "run"
    assert main(["train", "--data", "xor", "--epochs", "1", "--out", str(run), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"chainrule: {run}") and "No space left on device" in err
    assert err.count("\n") == 1 and not run.exists()  # the half-written run is removed


def test_an_unreadable_csv_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    path = text_file(tmp_path, "1,2,0\n3,4,1\n")
    if os.geteuid() == 0:  # root reads anything: make the operating system refuse it anyway
        real_open = Path.open

        def refuse(self, *args, **kwargs):
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refuse)
    else:
        path.chmod(0)
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == f"chainrule: {path}: cannot read (Permission denied)\n"


def test_an_output_that_is_the_input_or_the_models_file_is_refused(assets, tmp_path, capsys):
    """predict -o the --input CSV replaced the input with predictions; export --out the model's
    safetensors destroyed the model."""
    rows = tmp_path / "rows.csv"
    shutil.copy(assets.blobs, rows)
    before = rows.read_bytes()
    args = ["predict", str(assets.csv_run), "--input", str(rows), "-o", str(rows)]
    assert main(args) == 2
    assert "--output" in capsys.readouterr().err and rows.read_bytes() == before
    weights = assets.csv_run / "model" / "model.safetensors"
    saved = weights.read_bytes()
    assert main(["export", str(assets.csv_run), "--format", "onnx", "--out", str(weights)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "model.safetensors" in err and weights.read_bytes() == saved


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "--model", "{run}", "--input", "1,0", "--target", "1", "--out", "{file}"],
        ["graph", "--model", "{run}", "--input", "1,0", "--target", "1", "--format", "dot",
         "--out", "{file}"],
        ["graph", "--kind", "network", "--model", "{run}", "--input", "1,0", "--target", "1",
         "--format", "svg", "--out", "{file}"],
    ],
    ids=["explain", "graph", "graph-network"],
)  # fmt: skip
@pytest.mark.parametrize("file", ["model.json", "model.safetensors"])
def test_explain_and_graph_refuse_to_write_over_the_model_they_read(
    assets, tmp_path, capsys, command, file
):
    """explain --out and graph --out the model's own file wrote over it and exited 0: the model
    was gone (predict then said its model.json was not JSON)."""
    run_dir = tmp_path / "xor"
    shutil.copytree(assets.xor_run, run_dir)
    target = run_dir / "model" / file
    before = target.read_bytes()
    args = [part.format(run=run_dir, file=target) for part in command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"--out {target}: is the model's {file}; write to another file" in err, err
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "--model", "{run}", "--no-symbolic", "--out", "{file}"],
        ["graph", "--model", "{run}", "--format", "dot", "--out", "{file}"],
        ["predict", "{run}", "--input", "{data}", "-o", "{file}"],
        ["export", "{run}", "--format", "torch", "--out", "{file}"],
    ],
    ids=["explain", "graph", "predict", "export"],
)
@pytest.mark.parametrize("file", ["data", "run.json", "history.json"])
def test_no_output_is_written_over_the_runs_own_files_or_its_training_data(
    tmp_path, capsys, command, file
):
    """explain and graph --out the run's training data (read for --case 0) replaced it and
    exited 0 (evaluate and --resume then refused the changed data); predict -o and export --out
    wrote over run.json and history.json."""
    data = _blobs(tmp_path / "blobs.csv")
    run_dir = tmp_path / "run"
    assert main(["train", "--data", str(data), "--epochs", "1", "--out", str(run_dir), "-q"]) == 0
    target = data if file == "data" else run_dir / file
    before = target.read_bytes()
    args = [part.format(run=run_dir, data=data, file=target) for part in command]
    assert main(args) == 2
    what = "the run's training data" if file == "data" else f"the run's {file}"
    if file == "data" and command[0] == "predict":  # predict reads it as its --input too
        what = "the --input file"
    assert f"{target}: is {what}; write to another file" in capsys.readouterr().err
    assert target.read_bytes() == before


def test_explain_refuses_to_write_over_its_input_file(assets, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text("1,0\n")
    args = ["explain", "--model", str(assets.xor_run), "--input", str(rows), "--target", "1",
            "--format", "json", "--out", str(rows)]  # fmt: skip
    assert main(args) == 2
    assert "is the --input file" in capsys.readouterr().err and rows.read_text() == "1,0\n"


def test_export_torch_says_what_a_state_dict_leaves_out(assets, tmp_path, capsys):
    """The ONNX export holds the standardizer and the softmax; a state dict holds the weights
    only, and a user running it on raw inputs got other numbers than predict's, unwarned."""
    out = tmp_path / "w.safetensors"
    assert main(["export", str(assets.csv_run), "--format", "torch", "--out", str(out)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 2, notes
    assert "standardizer" in notes[0] and "apply softmax" in notes[1]
    pytest.importorskip("onnx", reason="the ONNX half needs onnx (the onnx and test extras)")
    assert (
        main(["export", str(assets.csv_run), "--format", "onnx", "--out", str(out) + ".onnx"]) == 0
    )
    assert "note:" not in capsys.readouterr().err


def test_evaluate_on_data_of_another_target_width_is_one_line(tmp_path, capsys):
    """A two-class model (2 output units) evaluated on XOR (one 0/1 target column) ended in a
    traceback (the loss's ShapeError); the input widths agree, so only the targets tell."""
    rows = "\n".join(f"{a},{b},{(a + b) % 2}" for a in (0, 1) for b in (0, 1) for _ in range(3))
    (tmp_path / "two.csv").write_text("a,b,label\n" + rows + "\n")
    run_dir = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "two.csv"), "--hidden", "3", "--epochs", "1",
                 "--out", str(run_dir), "-q"]) == 0  # fmt: skip
    capsys.readouterr()
    code = main(["evaluate", str(run_dir), "--data", "xor"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert (
        err.strip() == f"chainrule: xor: 1 multilabel target column but the model {run_dir} "
        "has 2 output units"
    )


@pytest.mark.parametrize(
    ("stop", "code", "line"),
    [("interrupt", 130, "chainrule: interrupted"), ("terminate", 143, "chainrule: terminated")],
)
@pytest.mark.parametrize("command", ["predict", "explain"])
def test_a_stop_in_any_command_says_which_and_exits_with_its_code(
    tmp_path, capsys, monkeypatch, stop, code, line, command
):
    """typer turns a KeyboardInterrupt raised in a command into Exit(130): predict, evaluate,
    explain, graph and export ended silently with 130, SIGTERM too (only train, which catches
    its own, said so). The stop is raised inside the command, as a signal would arrive."""
    from chainrule.cli.app import Terminated

    out = tmp_path / "run"
    assert main(["train", "--data", "xor", "--epochs", "1", "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    rows = tmp_path / "rows.csv"
    rows.write_text("0,1\n")

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt() if stop == "interrupt" else Terminated()

    monkeypatch.setattr("chainrule.io.load_model", stopped)
    args = {
        "predict": ["predict", str(out), "--input", str(rows)],
        "explain": ["explain", "--model", str(out), "--input", "0,1", "--target", "1"],
    }
    assert main(args[command]) == code
    assert capsys.readouterr().err.strip() == line


def test_an_os_error_without_a_file_says_so_once():
    """predict > /dev/full said "No space left on device ([Errno 28] No space left on device)"."""
    import errno

    from chainrule.cli import os_error_line

    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert os_error_line(full) == "No space left on device (writing or reading a stream: " \
        "standard output, a pipe)"  # fmt: skip
    named = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "out.csv")
    assert os_error_line(named) == "out.csv: No space left on device"


@pytest.mark.parametrize("failure", ["disk", "diverged"])
def test_a_run_failing_after_a_checkpoint_keeps_it_unless_it_diverged(
    tmp_path, monkeypatch, capsys, failure
):
    """A full disk at the third checkpoint removed the whole run, its two complete checkpoints
    with it: they are kept, and the line says how to go on. A run that diverged would diverge
    again from them, with the same settings: it is removed, as before."""
    import errno

    from chainrule.errors import TrainingDiverged
    from chainrule.train import Trainer

    real, saved = Trainer.save_checkpoint, []

    def save_two_then_fail(self, directory):
        if len(saved) == 2:
            if failure == "disk":
                raise OSError(errno.ENOSPC, "No space left on device", str(directory))
            raise TrainingDiverged("the training loss became nan in epoch 3")
        saved.append(real(self, directory))
        return saved[-1]

    monkeypatch.setattr(Trainer, "save_checkpoint", save_two_then_fail)
    out = tmp_path / "run"
    args = ["train", "--data", "parity", "--epochs", "10", "--out", str(out), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    if failure == "diverged":
        assert not out.exists() and err.count("\n") == 1, err
        return
    assert "No space left on device" in err and err.count("\n") == 2, err
    last = out / "checkpoints" / "epoch-000002"
    assert f"the last complete checkpoint is {last}; continue with: " in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "epoch-000001",
        "epoch-000002",
    ]
    monkeypatch.undo()  # the disk has room again: the resume finishes the run
    assert main(["train", "--resume", str(out), "--epochs", "10", "--quiet"]) == 0
    assert (out / "model").is_dir()


def test_a_resume_failing_after_a_checkpoint_keeps_the_run_it_extends(tmp_path, monkeypatch,
                                                                      capsys):  # fmt: skip
    """A finished run extended with --resume, the extension failing on a full disk: its kept
    checkpoints must not cost the finished run its model (predict and explain read it)."""
    import errno

    from chainrule.train import Trainer

    out = tmp_path / "run"
    assert main(["train", "--data", "parity", "--epochs", "4", "--out", str(out), "-q"]) == 0
    finished = sorted(p.name for p in out.iterdir())
    real, saved = Trainer.save_checkpoint, []

    def save_one_then_fail(self, directory):
        if saved:
            raise OSError(errno.ENOSPC, "No space left on device", str(directory))
        saved.append(real(self, directory))
        return saved[-1]

    monkeypatch.setattr(Trainer, "save_checkpoint", save_one_then_fail)
    assert main(["train", "--resume", str(out), "--epochs", "12", "-q"]) == 2
    assert "continue with: chainrule train --resume" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == finished and (out / "model").is_dir()


def test_a_run_failing_for_a_bug_after_a_checkpoint_is_removed(tmp_path, monkeypatch):
    """Only the system's failures (a full disk, memory) keep a new run's checkpoints: a resume
    would meet a bug again."""
    from chainrule.cli import train as train_cli

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(train_cli, "_finish", broken)
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="a bug") as raised:
        main(["train", "--data", "parity", "--epochs", "4", "--out", str(out), "-q"])
    assert not out.exists() and not getattr(raised.value, "__notes__", None)
