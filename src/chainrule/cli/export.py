# ruff: noqa: B008  (typer declares options as argument defaults)
"""``chainrule export``: a trained model as an ONNX graph or as PyTorch's state dict.

See docs/interop.md. The work is done by :mod:`chainrule.interop`; this is the command's shell.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from chainrule.cli import refuse_overwriting
from chainrule.cli.app import (
    STDOUT,
    app,
    file_path_value,
    model_argument,
    model_option,
    one_model,
    one_of,
)
from chainrule.errors import UserError

#: each format and the suffixes its file may have (or none): an ONNX graph written as
#: model.safetensors, or a state dict as model.onnx, fails in the next program that reads it
FORMATS = {"onnx": (".onnx",), "torch": (".safetensors",)}


@app.command(short_help="A trained model as ONNX or a PyTorch state dict.")
def export(
    model_path: Path = model_argument("RUN", "a run or saved model directory"),
    model_named: Path = model_option(),
    format: str = typer.Option(..., "--format", metavar="NAME", help="onnx or torch"),
    out: Path = typer.Option(
        ..., "--out", parser=file_path_value, metavar="FILE", help="the file to write (atomically)"
    ),
) -> int:
    """Export a trained model: ONNX (with its standardizer and output activation, answering what
    ``chainrule predict`` does) or PyTorch's state dict as safetensors (names and (n_out, n_in)
    layout)."""
    model_path = one_model(model_path, model_named, "chainrule export RUN --format F --out FILE")
    from chainrule import interop, io
    from chainrule.cli.train import (
        _model_dir,
        _prints_results,
        cannot_write,
        model_files_kept,
        note_an_unfinished_resume,
    )
    from chainrule.viz.style import saved_format

    format = one_of("--format", format, list(FORMATS))  # in any case: --format ONNX
    if out == STDOUT:  # a binary file on a terminal helps no one; "./-" names a file "-"
        raise UserError("--out -: export writes a file, not standard output; give a file name")
    model_dir = _model_dir(model_path)  # a run directory stands for its trained model
    refuse_overwriting(out, "--out", model_files_kept(model_path))
    try:
        saved_format("export", str(out), FORMATS, format)
    except ValueError as error:
        raise UserError(str(error)) from None
    if not _prints_results():  # under mpiexec/srun rank 0 alone writes and reports
        return 0
    try:
        if format == "onnx":
            interop.saved_to_onnx(model_dir, out)
        else:
            model, info = io.load_model(model_dir)
            loss = io.output_reader(info, model_dir)  # read before writing: no file, then an error
            interop.save_torch(model, out)
    except OSError as error:  # reading problems are ModelFileErrors already: this is the write
        raise cannot_write("--out", out, error) from None
    # the model of before a resume that stopped (onnx: its model.json read where it applies)
    note_an_unfinished_resume(model_dir, info if format == "torch" else None)
    print(f"wrote {out}", file=sys.stderr)
    if format == "torch":
        for line in _left_out_of_a_state_dict(info, loss):
            print(f"note: {line}", file=sys.stderr)
    return 0


def _left_out_of_a_state_dict(info: dict, loss: object) -> list[str]:
    """What ``chainrule predict`` does that a state dict of weights cannot hold (ONNX holds
    both): the input standardisation and the output unit a loss applies itself."""
    left_out = []
    if info.get("standardizer"):
        left_out.append(
            "the state dict holds weights only: standardise inputs as in training first "
            "((x - mean) / std, with model.json's standardizer), or export --format onnx"
        )
    unit = getattr(loss, "output_activation", None)
    # the loss's name; a loss of the run's own (io.loss_reader's stand-in) has none
    whose = f"the {loss.name} loss" if getattr(loss, "name", "") else "the run's own loss"
    if unit:
        left_out.append(
            f"the network's outputs are logits: apply {unit} to them for the probabilities "
            f"predict gives ({whose} applies it itself)"
        )
    threshold = getattr(loss, "threshold", 0.5)
    if threshold != 0.5:
        left_out.append(
            f"a unit is on where its probability is above {threshold:g} ({whose}'s threshold), "
            "not 0.5"
        )
    return left_out
