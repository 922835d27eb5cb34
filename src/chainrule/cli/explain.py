# ruff: noqa: B008  (typer declares options as argument defaults)
"""``chainrule explain``, ``chainrule quiz`` and ``chainrule graph``.

``chainrule explain`` with no options writes out backpropagation through the seed network (a
hidden layer i of 2 logistic units under a top layer j of 3) with every number checked; see
docs/explain.md for every option.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from chainrule.cli import on_disk
from chainrule.cli.app import (
    ABORTS,
    STDOUT,
    app,
    file_path_value,
    one_of,
    path_value,
    refuse_a_parallel_job,
)
from chainrule.errors import DataError, ModelFileError, UserError

if TYPE_CHECKING:  # NumPy loads when a command runs, not for --help
    from collections.abc import Callable

    import numpy as np

    from chainrule.explainer.quiz import Quiz


#: The files --input and --target read cases from (any other name is numbers written out)
CASE_FILES = (".csv", ".json", ".npy")


def case_file_kind(path: Path) -> str | None:
    """The suffix of a file of cases, in lower case (``X.CSV`` is a CSV file, as a spreadsheet
    saves it), or None for a name that is not one (numbers written out)."""
    suffix = path.suffix.lower()
    return suffix if suffix in CASE_FILES else None


def parse_cases(text: str, what: str) -> np.ndarray:
    """``"0.1,0.2;0.3,0.4"`` (cases separated by ';'), a JSON list, or a .csv/.json/.npy file."""
    import numpy as np

    if not text.strip():
        raise DataError(
            f"--{what} is empty; write e.g. '0.5,1.0', or give a .csv, .json or .npy file"
        )
    path = Path(text)
    check_case_file(text, what)
    if on_disk(path, Path.is_dir):
        raise DataError(
            f"--{what} {path}: is a directory; give numbers or a .csv, .json or .npy file"
        )
    # a file's suffix (.npz, .txt), not a number's decimals (0.5): read as numbers, its name
    # was "not numbers (could not convert string to float)"
    suffix = path.suffix.lower()
    if suffix[1:].isalpha() and not case_file_kind(path) and path.is_file():
        raise DataError(
            f"--{what} {path}: a {suffix} file is not read; give a .csv, "
            ".json or .npy file (np.save writes .npy; np.savez's .npz holds several arrays)"
        )
    try:
        values = np.asarray(_read_cases(text, path, what), dtype=float)
    except DataError:  # a .csv file's reader names the file, line and column
        raise
    except OSError as error:
        raise DataError(f"--{what} {path}: cannot read ({error.strerror or error})") from None
    except (ValueError, TypeError) as error:  # TypeError: a JSON object or string, not numbers
        raise DataError(
            f"--{what} {text!r}: not numbers ({error}); write e.g. '0.5,1.0' or '0,1;1,0' for "
            "two cases, or give a .csv, .json or .npy file"
        ) from None
    from chainrule.cli.train import refuse_non_finite

    refuse_non_finite(np.atleast_2d(values), f"--{what}")  # a flat array is one case
    return values


def check_case_file(text: str, what: str) -> None:
    """Refuse a file of cases (:data:`CASE_FILES`) named ``text`` that does not exist, before
    anything else is said of the option (``explain --model RUN --input nofile.csv`` asked for
    ``--target`` first), and a .csv file that is NumPy's .npy, which ``--input`` reads by
    that name (the CSV reader would tell it to save the array as CSV)."""
    path = Path(text)
    kind = case_file_kind(path)
    if kind and not on_disk(path, Path.exists):
        raise DataError(f"--{what} {path}: no such file")
    if kind == ".csv" and on_disk(path, Path.is_file):
        from chainrule.data.csvfile import binary_kind

        found = binary_kind(path)
        if found is not None and found.key == "npy":
            raise DataError(
                f"--{what} {path}: {found.what}, not CSV text; --{what} reads a .npy file by "
                f"that name: rename it {path.with_suffix('.npy').name}"
            )


def _npy_numbers(path: Path, what: str):
    """A .npy file's real numbers; a file NumPy would unpickle, or one of complex numbers
    (cast to their real parts, with only NumPy's warning) or text, is refused naming it, and
    one of another format (an Excel workbook named .npy) is named for what it is."""
    import numpy as np

    from chainrule.data.csvfile import binary_kind

    found = binary_kind(path)
    if found is not None and found.key != "npy":
        raise DataError(f"--{what} {path}: {found.what}, not a NumPy .npy file; {found.remedy}")
    try:
        values = np.load(path, allow_pickle=False)
    except ValueError as error:
        unpickled = "pickle" in str(error)
        why = "NumPy would have to unpickle it, which chainrule never does" if unpickled else error
        raise DataError(f"--{what} {path}: not a NumPy array of numbers ({why})") from None
    if values.dtype.kind not in "biuf":
        raise DataError(f"--{what} {path}: holds {values.dtype} values; give real numbers")
    return values


def _json_numbers(value: Any, shown: str, what: str) -> Any:
    """``value``, read from JSON, where it is a number, a list of numbers or a list of cases
    (lists of numbers); a JSON object, a string or null anywhere in it is refused in one line
    that says which and how to write cases (it was Python's "float() argument must be a string
    or a real number, not 'dict'", offering a .json file to one who gave one)."""
    found = _not_a_number(value)
    if found is not None:
        raise DataError(
            f"--{what} {shown}: {found} where a number belongs; write a JSON list of numbers "
            "such as [0.5, 1.0], or of cases such as [[0, 1], [1, 0]]"
        )
    return value


def _not_a_number(value: Any) -> str | None:
    """What the first JSON object, string or null in ``value`` is (depth first), else None."""
    if isinstance(value, list):
        return next(filter(None, map(_not_a_number, value)), None)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else None


def _read_cases(text: str, path: Path, what: str):
    """The numbers ``text`` gives, as read (``parse_cases`` checks they are numbers)."""
    kind = case_file_kind(path)
    if kind and path.exists():
        if kind == ".npy":
            return _npy_numbers(path, what)
        if kind == ".json":  # as chainrule reads every JSON file: a regular file, capped
            from chainrule.io import read_json

            try:
                return _json_numbers(read_json(path), str(path), what)
            except ModelFileError as error:  # "x.json: is a pipe, not a JSON file ..."
                raise DataError(f"--{what} {error}") from None
        from chainrule.data import read_table

        # a line is a case, read as predict reads it: a BOM, a header line, checked numbers
        return read_table(path).values
    if text.strip().startswith(("[", "{")):
        return _json_numbers(json.loads(text), text, what)
    rows = [row.split(",") for row in text.split(";") if row.strip()]
    widths = sorted({len(row) for row in rows})
    if len(widths) > 1:  # NumPy's words were "inhomogeneous shape after 1 dimensions"
        raise DataError(f"--{what} {text!r}: its cases have {' and '.join(map(str, widths))} "
                        "numbers; give every case as many")  # fmt: skip
    numbers = [[float(cell) for cell in row] for row in rows]
    for cells, values in zip(rows, numbers):
        for cell, value in zip(cells, values):
            if value in (float("inf"), float("-inf")) and "inf" not in cell.lower():
                raise DataError(  # 1e400 read as inf: "inf is too large for the model"
                    f"--{what}: {cell.strip()} is too large for any float (at most 1.8e308)"
                )
    return numbers


def _check_loss(loss: str | None) -> None:
    """An unknown --loss is an error even where the seed network would not use it. A name the
    library knows (chainrule's losses, and one registered by ``--import``'s module) is
    known: what :func:`~chainrule.explainer.as_loss` refuses of it, it says itself."""
    if loss is None:
        return
    from chainrule.explainer.network import LOSSES
    from chainrule.nn.losses import loss_from_name

    try:
        loss_from_name(loss)
    except UserError:  # name the losses the explainer writes out
        one_of("--loss", loss, LOSSES)  # refused in every choice option's words


CASE_HELP = (
    "with --model RUN and no --input/--target: this case of the split the run was evaluated on "
    "(as serve --model shows it)"
)


def _problem_args(
    model: Path | None,
    input: str | None,
    target: str | None,
    loss: str | None,
    torch_model: Path | None = None,
    arch: str | None = None,
    case: int | None = None,
):
    """(model, input rows as the model sees them, targets, loss object, where the cases come
    from in words or None, the model file's info: {} for the seed) for the explainer.

    ``--model`` is a saved model or a run directory of ``chainrule train``; its saved
    standardizer scales the input rows exactly as ``chainrule predict`` does, and its loss is the
    default. The loss object reads the targets (class labels only for cross-entropy).
    Without ``--input`` and ``--target`` a run's own case is taken: ``--case`` (0 by default) of
    the split it was evaluated on, as ``serve --model`` shows it. A ``.csv`` ``--input`` whose
    rows end in a label column gives the targets without ``--target``, for a model whose file
    records its task (:func:`_label_column_targets`).
    ``--torch-model`` is a PyTorch state dict instead (docs/interop.md), ``--arch`` its layers.
    The words say which case of the run it is (:func:`~chainrule.cli.train.held_out_case`), or
    that ``--input``'s rows were standardised with the model's saved mean and std; None where
    there is nothing to say (the rows are the numbers given).
    """
    import numpy as np

    from chainrule.cli.train import held_out_case, load_trained, model_rows, pixel_range
    from chainrule.explainer import as_loss
    from chainrule.train.metrics import param_dtype

    if torch_model is not None and model is not None:
        raise UserError("give --model or --torch-model, not both")
    if case is not None and model is None:
        raise UserError("--case picks a case of a run's data: give --model RUN")
    if case is not None and (input is not None or target is not None):
        raise UserError("--case picks a case of --model's run: give it without --input/--target")
    net, info, stored_loss = (None, {}, None) if model is None else load_trained(model)
    if model is not None and stored_loss is None and loss is None:
        _refuse_a_run_of_its_own_loss(model, info)
    if model is not None and input is None and target is None:  # the run's own case
        if case is None and info.get("meta", {}).get("run") is None:
            raise UserError(
                f"--model {model}: give --input and --target for this model (it records no "
                "training run to take a case from)"
            )
        spec = as_loss(loss or stored_loss or "squared-error")
        x, t, source = held_out_case(model, info, case or 0, spec, _output_units(net, model, info))
        return net, x, t, spec, source, info
    if torch_model is not None:
        from chainrule.interop import load_torch

        net, model = load_torch(torch_model, arch), torch_model
        from chainrule.io import model_description

        # described as a saved model's file would be: what the --input checks below read
        info = model_description(net)
    for text, what in ((input, "input"), (target, "target")):
        if text is not None:  # a file that is not there is said before a missing option
            check_case_file(text, what)
    if net is None and (input is None) != (target is None):
        raise UserError("give both --input and --target (or neither, for the seed network)")
    seed_loss = as_loss("squared-error").name
    if net is None and input is None and loss is not None and as_loss(loss).name != seed_loss:
        raise UserError(
            f"--loss {loss}: the seed network is explained with its own loss, {seed_loss}; "
            "give --input and --target to use another loss"
        )
    if arch is not None and torch_model is None:
        raise UserError("--arch describes a --torch-model's layers; give --torch-model too")
    spec = as_loss(loss or stored_loss or "squared-error")
    t = None  # from --target, or from the label column of an --input file for a saved model
    if net is not None and input is not None and target is None and torch_model is None:
        t = _label_column_targets(input, model, info, net, spec)
    if net is not None and (input is None or (target is None and t is None)):
        option = "--model" if torch_model is None else "--torch-model"
        named = torch_model if torch_model is not None else model
        if input is None:
            missing = "--input too" if target is not None else "--input and --target"
        elif torch_model is None and _reads_a_label_column(info):
            missing = "--target too (or, in a .csv --input, a label column after the inputs)"
        else:
            missing = "--target too"
        raise UserError(f"{option} {named}: give {missing} for this model")
    dtype = None if net is None else param_dtype(net)
    x = None if input is None else _input_cases(input, info, dtype)
    if target is not None:
        t = _target_cases(target, info, spec, lambda: _output_units(net, model, info))
    if x is not None and net is not None:
        x = np.atleast_2d(x)
        _check_input_width(x, info, model)
        if pixel_range(info) is not None:  # raw pixels would saturate every unit, silently
            from chainrule.data.idx import check_rows_scaled

            check_rows_scaled(x, pixel_range(info), "--input")
        # the rows the model computes with, as predict's: refused where its dtype cannot hold
        # a value, standardised, in its dtype (so the JSON's inputs are layer 0's y)
        x = model_rows(x, info, dtype, "--input")
        _check_the_model_runs(x, net, info, model)
    if t is not None and net is not None:
        _check_fits_the_model(net, model, "--target", t, t)
        if loss is None and stored_loss is None:
            _refuse_labels_for_the_default_loss(t, net, model, info)
    return net, x, t, spec, _input_source(input, info, t, None if x is None else len(x)), info


def _refuse_labels_for_the_default_loss(t: np.ndarray, net: Any, model: Path, info: dict) -> None:
    """Refuse class labels as ``--target`` where the model file names no loss (a PyTorch state
    dict never does) and squared error, the default, reads a row of the outputs' numbers per
    case: the shape error alone did not say what to change. Cross-entropy is named only for
    a network that ends in logits (it applies softmax itself)."""
    import numpy as np

    from chainrule.explainer import ExplainError, as_network

    if not (t.ndim == 2 and t.shape[1] == 1):  # rows of several numbers: not labels
        return
    n_outputs = _output_units(net, model, info)  # only now: it may read the run's data
    if n_outputs < 2 or not np.all((t == np.round(t)) & (t >= 0) & (t < n_outputs)):
        return
    row = ",".join("1" if k == int(t[0, 0]) else "0" for k in range(n_outputs))
    try:
        logits = as_network(net).layers[-1].activation == "identity"
    except ExplainError:
        logits = False
    other = "give --loss cross-entropy for class labels, or " if logits else "give "
    raise UserError(
        f"{model}: --target gives one class label per case, but the model has {n_outputs} "
        f"outputs and records no loss, so squared error (the default) reads {n_outputs} "
        f"numbers per case; {other}each case's target as {n_outputs} numbers ({row} for class "
        f"{int(t[0, 0])})"
    )


def _input_source(
    input: str | None, info: dict, t: Any = None, n_cases: int | None = None
) -> str | None:
    """``--input``'s rows in words where the model changed them: standardised with its saved
    mean and std, as ``chainrule predict`` scales them; and for a model trained on named
    classes, the class of each target ``t`` (of ``n_cases`` cases) by name and number
    (:func:`_target_words`), as ``--case`` names its target's. None where there is nothing to
    say (the rows are the numbers given, the targets no named classes)."""
    from chainrule.cli.train import saved_standardizer

    if input is None:
        return None
    words = []
    if saved_standardizer(info) is not None:
        words.append(
            "the input rows given, standardised with the model's saved training mean and std "
            "(as chainrule predict scales them)"
        )
    targets = _target_words(t, info, n_cases)
    if targets:
        words.append(targets)
    return "; ".join(words) or None


#: The most targets whose class ``explain --input`` names in its words on where cases come from
CLASSES_NAMED = 6


def _target_words(t: Any, info: dict, n_cases: int | None) -> str:
    """The targets ``t`` of ``n_cases`` cases as the named classes they stand for, for a model
    trained on class names (:func:`~chainrule.cli.train.label_names`, evaluate's and predict's
    names: a one-output model's two are "not NAME" and NAME): ``target: class 'setosa' (0)``,
    or ``targets: class 'setosa' (0), 'virginica' (2), ... (45 cases)``; each target is a
    class number (cross-entropy's labels, one unit's 0 or 1) or a one-hot row, read back as
    training builds them from labels (:func:`~chainrule.train.metrics.target_array`). "" where
    the model names no classes or a target stands for no one class (a multilabel row)."""
    import numpy as np

    from chainrule.cli.train import label_names

    names = label_names(info) if info else None
    if not names or t is None or not n_cases:
        return ""
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 1:  # a label per case, or one case's row
        t = t[:, None] if len(t) == n_cases else t[None, :]
    if t.ndim != 2 or len(t) != n_cases:
        return ""
    if t.shape[1] == 1:
        labels = t[:, 0]
        if not np.all((labels == np.round(labels)) & (labels >= 0) & (labels < len(names))):
            return ""
        classes = labels.astype(np.int64)
    elif t.shape[1] == len(names) and np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1):
        classes = t.argmax(axis=1)
    else:
        return ""
    shown = [f"{names[k]!r} ({k})" for k in classes[:CLASSES_NAMED].tolist()]
    if n_cases == 1:
        return f"target: class {shown[0]}"
    more = f", ... ({n_cases} cases)" if n_cases > CLASSES_NAMED else ""
    return f"targets: class {', '.join(shown)}{more}"


def _refuse_a_run_of_its_own_loss(model: Path, info: dict) -> None:
    """Refuse, without ``--loss``, a checkpoint of a run whose loss was the user's own function
    (no file can hold it): the derivation of another loss (squared error, the default for a
    model file without one) was shown as the run's."""
    from chainrule.cli.train import no_loss, trained_user_loss
    from chainrule.explainer.network import LOSSES

    function = trained_user_loss(model, info)
    if function is not None:
        raise UserError(
            f"--model {model}: {no_loss(function)}; give --loss to explain the case with "
            f"one of chainrule's ({', '.join(LOSSES)})"
        )


def _check_fits_the_model(net, model: Path, option: str, given, seen) -> None:
    """One line for a number the model's dtype cannot hold: 1e300 is finite in float64, but a
    float32 model would see infinity and write out inf and NaN. ``seen`` is ``given`` as the
    model sees it (the targets as they are; the inputs are checked by
    :func:`~chainrule.cli.train.model_rows`, as ``predict``'s are)."""
    import numpy as np

    from chainrule import backend
    from chainrule.checks import first_too_large

    dtypes = {np.dtype(backend.dtype_name(p.dtype)) for p in net.parameters()}
    floats = [d for d in dtypes if np.issubdtype(d, np.floating)]
    if not floats:
        return
    narrowest = min(floats, key=lambda d: np.finfo(d).max)
    seen = np.asarray(seen, dtype=np.float64)
    where = first_too_large(seen, narrowest)
    if where is not None:
        value = np.asarray(given, dtype=np.float64)[where]
        scaled = "" if value == seen[where] else f" ({seen[where]:g} once standardised)"
        raise UserError(
            f"{option}: {value:g}{scaled} is too large for the {narrowest.name} model {model} "
            f"(at most {np.finfo(narrowest).max:.3g})"
        )


def _target_cases(text: str, info: dict, spec: Any, n_outputs: Callable[[], int]) -> np.ndarray:
    """``--target``'s cases; for a model trained on named classes (its ``class_names``; a
    one-output model's unit name is class 1, "not NAME" class 0:
    :func:`chainrule.cli.train.label_names`) also their names, one per case (``setosa`` or
    ``setosa;virginica``), as ``predict`` writes them. A name becomes the target that loss
    ``spec`` was trained against for that class (:func:`_class_targets`), so a squared-error
    model of 3 outputs reads ``virginica`` as the row 0,0,1. Numbers that are not given say
    which names there are."""
    from chainrule.cli.train import label_names
    from chainrule.data.csvfile import normal_name

    names = list(label_names(info) or [])
    # in NFC, as the CSV reader stored the names: é typed decomposed (macOS) is the class é
    cases = [normal_name(case) for case in text.split(";")]
    a_file = case_file_kind(Path(text)) is not None or on_disk(Path(text), Path.exists)
    if names and not a_file and all(case in names for case in cases):  # "St. Louis" too
        return _class_targets([names.index(case) for case in cases], spec, n_outputs())
    try:
        return parse_cases(text, "target")
    except DataError as error:
        if not names:
            raise
        listed = ", ".join(f"{name} ({k})" for k, name in enumerate(names))
        raise DataError(f"{error}; this model's classes, by name or number: {listed}") from None


def _class_targets(labels: list[int], spec: Any, n_outputs: int) -> np.ndarray:
    """Class numbers as the targets ``spec`` compares ``n_outputs`` units against, as training
    builds them from the same labels (:func:`chainrule.train.metrics.target_array`): class
    labels for cross-entropy, one-hot rows for a loss that takes a row per case (squared error,
    binary cross-entropy of several units), the label itself for one unit. A class number read
    as one value compared with 3 outputs was refused as a target "of shape (1, 1)"."""
    import numpy as np

    from chainrule.data import Dataset
    from chainrule.train.metrics import target_array

    classes = Dataset(np.zeros((len(labels), 1)), np.array(labels), "classification", "--target")
    targets = target_array(classes, spec, n_outputs, np.float64)
    return targets.reshape(-1, 1) if targets.ndim == 1 else targets  # a label per case, a row


def _input_cases(text: str, info: dict, dtype: Any = None) -> np.ndarray:
    """``--input``'s cases; a .csv file for a saved model is read as ``chainrule predict``
    reads its rows (:func:`~chainrule.cli.train.read_feature_rows`: a header line and a
    trailing label column are allowed, a number the model's ``dtype`` cannot hold is refused
    naming its line; every column an input where the model's file does not tell how many it
    takes), so a file one command takes the other takes too."""
    from chainrule.train.runs import model_widths

    widths = model_widths(info) if info else None
    path = Path(text)
    if widths is None or case_file_kind(path) != ".csv" or not path.exists() or path.is_dir():
        return parse_cases(text, "input")
    from chainrule import data
    from chainrule.cli.train import pixel_range, read_feature_rows

    data.check_file_kind(path)  # a pipe without a writer, a device: never end
    return read_feature_rows(path, widths[0], dtype or "float64", pixel_range(info), info)


def _label_column_targets(text: str, model: Path, info: dict, net: Any, spec: Any) -> Any:
    """``--input FILE.csv`` without ``--target``, for a saved model, where the file's rows end
    in a label column after the model's inputs: the labels as targets for ``spec``, read as
    ``evaluate --data FILE.csv`` reads them (class names or numbers, as the model was trained
    on) and given to the loss as training gives them; the rows are read as ``--input`` reads
    any file. None for any other input, for a model whose file records no task (saved by
    ``io.save_model`` without it) and for one whose file does not tell its input width (a
    first layer of the user's own, which takes every column): those still need ``--target``."""
    import numpy as np

    from chainrule.train.runs import model_widths

    widths = model_widths(info) if info else None
    path = Path(text)
    if widths is None or case_file_kind(path) != ".csv" or not path.is_file():
        return None
    if not _reads_a_label_column(info):  # its task, and where its inputs end, told
        return None
    from chainrule import data
    from chainrule.cli.train import labelled_data
    from chainrule.train.metrics import target_array

    data.check_file_kind(path)  # a pipe without a writer, a device: never end
    from chainrule.cli.train import first_line_width, model_input_width
    from chainrule.data.csvfile import check_table_width
    from chainrule.train.runs import table_options

    # read as the run's training read its file: its delimiter, its label column wherever it is
    options = table_options(info.get("meta", {}).get("run"))
    delimiter = options.get("delimiter")
    check = model_input_width(path, widths[0])  # a wrong width said as predict says it
    if options.get("label_column") is None:
        table = data.read_table(path, delimiter=delimiter, columns=widths[0], check_width=check)
        width = len(table.names or table.body[0][1])
    else:  # labelled_data reads the cells, the label's column where the run had it
        check_table_width(path, check, delimiter)
        width = first_line_width(path, delimiter)
    if width != widths[0] + 1:
        return None
    # read in float64, as --target's numbers are (_check_fits_the_model then checks them
    # against the model's dtype): a regression target is the number written, not its float32
    ds, _ = labelled_data(model, info, np.dtype(np.float64), text)
    return target_array(ds, spec, _output_units(net, model, info), np.float64)


def _reads_a_label_column(info: dict) -> bool:
    """Whether an ``--input`` file's label column can be this model's targets: its task is
    known (whether the column holds classes or a regression's values is not known else), and
    its input width (a last column past the inputs is not told from an input else: a model
    whose first layer is of the user's own takes every column, :func:`_input_cases`)."""
    from chainrule.cli.train import saved_task
    from chainrule.train.runs import told_input_width

    return saved_task(info) is not None and told_input_width(info) is not None


def _check_input_width(x: np.ndarray, info: dict, model: Path) -> None:
    """Input rows as wide as the saved model's input layer, where its file tells that width,
    or one line saying so (where it does not, :func:`_check_the_model_runs` asks the model)."""
    from chainrule.train.runs import model_widths

    widths = model_widths(info) if info else None
    if widths is None or widths[0] is None:
        return
    if x.ndim != 2 or x.shape[1] != widths[0]:
        shown = x.shape[1] if x.ndim == 2 else f"shape {x.shape}"
        raise UserError(f"--input: {shown} values per case but model {model} takes {widths[0]}")


def _check_the_model_runs(x: np.ndarray, net: Any, info: dict, model: Path) -> None:
    """For a saved model whose file does not tell its input width (a first layer of the
    user's own), its forward pass on the rows ``x`` as it sees them (no graph): the model
    itself says, in one line, whether it takes them
    (:func:`~chainrule.cli.train.said_by_the_model`), before any view runs it."""
    from chainrule.cli.train import said_by_the_model
    from chainrule.engine import no_grad
    from chainrule.tensor import Tensor
    from chainrule.train.runs import model_widths

    widths = model_widths(info) if info else None
    if widths is None or widths[0] is not None:
        return
    with said_by_the_model(info, model, "--input", x.shape[-1]), no_grad():
        net(Tensor(x))


def _engine_graph(net: Any, x: Any, t: Any, loss: Any, reason: str) -> Any:
    """The graph the engine records for ``net``'s forward pass and ``loss`` on the case, for a
    network the explainer cannot write out layer by layer: every op of the user's own modules,
    with the values and what each consumer sends back, noting why it is not the unit view.
    The targets are read as :func:`~chainrule.explainer.build.problem_of` reads them for a
    network it can write out (``--target 1``, a class label, is cross-entropy's one-hot row,
    not the number 1 of shape (1, 1))."""
    import numpy as np

    from chainrule.engine import enable_grad
    from chainrule.explainer.network import loss_target, targets_for
    from chainrule.tensor import Tensor
    from chainrule.train.metrics import param_dtype
    from chainrule.viz.graph import graph as draw_graph

    dtype = param_dtype(net)
    with enable_grad():
        y = net(Tensor(np.asarray(x, dtype=dtype)))
        rows, labels = targets_for(np.asarray(t), y.shape[-1], loss, y.shape[0])
        error = loss(y, loss_target(rows if labels is None else labels, dtype))
    drawing = draw_graph(error, model=net, names={id(error): "E"})
    drawing.notes.append(
        f"{_command_line(reason)}: drawn is the engine's graph of the model's own "
        "modules and loss (every op, not every unit)"
    )
    return drawing


def _unreadable_network(net: Any) -> str | None:
    """Why the explainer cannot write ``net`` out layer by layer (None: it can, or there is no
    model: the seed's)."""
    from chainrule.explainer import ExplainError, as_network
    from chainrule.explainer.network import DRAWN

    if net is None:
        return None
    try:
        as_network(net)
    except ExplainError as error:  # the command names its own way to the graph
        return str(error).removesuffix(DRAWN)
    return None


def refuse_an_unreadable_network(
    net: Any, model: Any, view: str, torch_arch: str | None = None, torch: bool = False
) -> None:
    """Refuse, for a ``view`` that writes a network out unit by unit (explain, the network
    diagram, the explorer), a network the explainer cannot read, pointing to the one view that
    draws any network: ``chainrule graph --model``. For a PyTorch state dict (``torch``: explain's
    ``--torch-model``, its layers ``torch_arch``), which graph does not read, the Python that
    draws its graph."""
    reason = _unreadable_network(net)
    if reason is None:
        return
    refused = f"{model}: {view} cannot show this network ({_command_line(reason)})"
    if not torch:
        raise UserError(
            f"{refused}; chainrule graph --model {model} draws its computation graph op by op"
        )
    arch = "" if torch_arch is None else f", arch={torch_arch!r}"
    raise UserError(
        f"{refused}; chainrule graph reads chainrule's model directories, not a PyTorch state "
        "dict: in Python, chainrule.viz.graph.graph(E) draws the computation graph of "
        "E = loss(model(x), t) op by op, with model = "
        f"chainrule.interop.load_torch({str(model)!r}{arch})"
    )


def _output_units(net: Any, model: Path, info: dict) -> int:
    """How many output units ``net`` has: its layers' as the explainer reads them, or for a
    network it cannot write out layer by layer (a module of its own) what a
    forward pass of one of the run's input rows gives."""
    from chainrule.cli.train import trained_data
    from chainrule.engine import no_grad
    from chainrule.explainer import ExplainError, as_network
    from chainrule.tensor import Tensor
    from chainrule.train.metrics import param_dtype

    try:
        return as_network(net).sizes[-1]
    except ExplainError:
        pass
    row = trained_data(model, info).test.X[:1]
    with no_grad():
        return int(net(Tensor(row.astype(param_dtype(net)))).shape[-1])


def _explained(model: Path | None, explain_step, *args, **kwargs):
    """Run an explainer step; a problem with the user's numbers (a target the loss cannot read)
    is one line naming the model, not a traceback, in :func:`_command_line`'s words
    (``chainrule graph`` said "explain: the input has shape ...")."""
    try:
        return explain_step(*args, **kwargs)
    except (UserError, ValueError) as error:
        text = _command_line(error)
        raise UserError(f"{model}: {text}" if model is not None else text) from None


def _command_line(error: BaseException | str) -> str:
    """An explainer error's words for a command's line: without the Python API's "explain: "
    prefix, which a ``chainrule graph`` line would misname."""
    return str(error).removeprefix("explain: ")


def _refuse_writing_over_what_is_read(
    out: Path | None,
    model: Path | None,
    torch_model: Path | None,
    input: str | None,
    target: str | None,
) -> None:
    """Refuse an ``--out`` that is one of the files the command reads (the model's files, the
    state dict, an --input or --target file): writing it would destroy them."""
    if out is None:
        return
    from chainrule.cli import refuse_overwriting
    from chainrule.cli.train import model_files_kept

    kept = model_files_kept(model) if model is not None else {}
    if torch_model is not None:
        kept["--torch-model file"] = torch_model
    for option, text in (("--input", input), ("--target", target)):
        if text:  # numbers written out name no file, and are not one
            kept[f"{option} file"] = Path(text)
    refuse_overwriting(out, "--out", kept)


#: The formats ``explain`` writes and the suffixes of each, the first (text) for a name with
#: none: ``--format`` is taken from ``--out``'s suffix when not given, and refused when the
#: suffix says another (JSON went into a .tex file, plain text into one without --format).
EXPLAIN_FORMATS: dict[str, tuple[str, ...]] = {
    "text": (".txt", ".text", ".log"),
    "markdown": (".md", ".markdown"),
    "latex": (".tex", ".latex"),
    "html": (".html", ".htm"),
    "json": (".json",),
}


#: explain --format's help: each format's suffixes (``.md/.markdown``), as --out takes them
_SUFFIXES_SHOWN = ", ".join("/".join(suffixes) for suffixes in EXPLAIN_FORMATS.values())


def _drawing_format(
    out: Path | None,
    format: str | None,
    check_name: bool = True,
    formats: dict[str, tuple[str, ...]] | None = None,
) -> str:
    """The format ``graph`` writes, by the rule ``ComputationGraph.save`` follows
    (:func:`chainrule.viz.style.saved_format`): ``--format`` in any case, else ``--out``'s
    suffix (none: svg); with ``check_name``, a name whose suffix says another format than
    ``--format`` is refused too (SVG text went into a .png file). ``formats``: those a command
    writes and their suffixes (``explain``'s :data:`EXPLAIN_FORMATS`; the graph's by default)."""
    from chainrule.viz.style import saved_format

    if formats is None:
        from chainrule.viz.graph import FORMATS as formats
    path = "" if out is None or out == STDOUT or not check_name else str(out)
    try:
        return saved_format("--format" if format else "--out", path, formats, format)
    except ValueError as error:
        raise UserError(str(error)) from None


def _write(out: Path | None, text: str, drawing_format: str | None = None) -> None:
    """``text`` to ``out`` (atomically) or stdout; under mpiexec/srun by rank 0 alone (every
    rank runs the command: the output came N times, the file was written N times). A
    ``drawing_format`` (svg, dot) must agree with the file's suffix."""
    from chainrule.cli.train import _prints_results, cannot_write

    if not _prints_results():
        return
    if out is None or out == STDOUT:
        sys.stdout.write(text)
        return
    from chainrule.cli import refuse_overwriting
    from chainrule.files import atomic_write_text

    refuse_overwriting(out, "--out", {})  # a checkpoint's files, whatever was read
    if drawing_format is not None:
        _drawing_format(out, drawing_format)

    try:
        atomic_write_text(str(out), text)
    except OSError as error:
        raise cannot_write("--out", out, error) from None
    print(f"wrote {out}", file=sys.stderr)


@app.command(short_help="Backprop written out with real numbers, each checked.")
def explain(
    model: Path = typer.Option(
        None, parser=path_value, help="a run directory, a saved model directory or its model.json"
    ),
    input: str = typer.Option(
        None,
        "--input",
        metavar="NUMBERS|FILE",
        help="inputs: '1,0.5' or '1,0;0,1' (cases by ';'), or a .csv/.json/.npy file",
    ),
    target: str = typer.Option(
        None,
        metavar="NUMBERS|FILE",
        help="targets, like --input (class labels for cross-entropy); with --model, a .csv "
        "--input's label column after the inputs is its target",
    ),
    loss: str = typer.Option(
        None,
        metavar="NAME",
        show_default="the model file's, else squared-error",
        help="squared-error, mse, cross-entropy, binary-cross-entropy, margin-squared-error",
    ),
    unit: str = typer.Option(
        None,
        metavar="LAYER:UNIT",
        help="focus on one unit: LAYER:UNIT, e.g. 1:2 (layer 0 is "
        "the input layer, units count from 1)",
    ),
    notation: str = typer.Option(
        "hinton",
        metavar="NAME",
        help="hinton (y_i, z_j, w_ij), rhw (RHW 1986: x_j, "
        "w_ji) or matrix (delta^l = (W^(l+1))^T delta^(l+1) * s'(z^l))",
    ),
    format: str = typer.Option(
        None,
        "--format",
        metavar="NAME",
        show_default="from --out's suffix, else text",
        help=f"text, markdown, latex, html or json; --out's suffix, in any case, must be one of "
        f"the format's: {_SUFFIXES_SHOWN} (a name with none is text)",
    ),
    json_output: bool = typer.Option(
        False, "--json", help="the same as --format json (as train, evaluate and predict take)"
    ),
    out: Path = typer.Option(
        None,
        parser=file_path_value,
        metavar="FILE",
        help="write to this file (atomically) instead of stdout ('-': stdout)",
    ),
    symbolic: bool = typer.Option(True, help="add the sympy proof when the network is small"),
    bug: str = typer.Option(
        None,
        metavar="NAME",
        help="show a teaching bug's wrong gradients beside the right ones and the check that "
        "catches them: assign, no-toposort, merged-leaves or no-zero-grad",
    ),
    perturbation: bool = typer.Option(True, help="add the perturbation table"),
    max_units: int = typer.Option(
        6, min=1, max=10_000, help="units shown per layer (JSON always has all)"
    ),
    max_cases: int = typer.Option(3, min=1, max=10_000, help="cases shown (JSON always has all)"),
    digits: int = typer.Option(4, min=1, max=17, help="significant digits in the formulas"),
    max_checks: int = typer.Option(
        20_000,
        min=0,
        help="gradients checked by finite differences, at most (a sample past it); 0: none",
    ),
    torch_model: Path = typer.Option(
        None,
        parser=path_value,
        metavar="FILE",
        help="a PyTorch state dict (.safetensors) instead of --model; see docs/interop.md",
    ),
    arch: str = typer.Option(
        None,
        metavar="LAYERS",
        help="its layers for --torch-model, e.g. 4,3,2 or 4,8,relu,2 (logistic by default); "
        "nobias after a size: that layer has no biases",
    ),
    case: int = typer.Option(None, min=0, show_default="0", help=CASE_HELP),
) -> int:
    """Backpropagation written out in the lecture's notation with real numbers, each checked.

    Exit status 1 where a check disagrees, 2 for a mistake in the options, else 0: also where
    the checks give no verdict (every gradient within the tolerance of 0, as a trained model's
    confident case gives), which the text and the JSON say; no engine fault is found there."""
    from chainrule.explainer import explain as run_explain
    from chainrule.explainer.bugs import BUGS
    from chainrule.explainer.notation import NOTATIONS
    from chainrule.explainer.render import FORMATS, render
    from chainrule.explainer.render_text import print_text

    format = one_of("--format", format, FORMATS)  # each choice in any case (--format JSON)
    if json_output:  # --json is --format json, nothing of its own
        if format is not None and format != "json":
            raise UserError(f"--json is --format json; it conflicts with --format {format}")
        format = "json"
    _check_loss(loss)
    notation = one_of("--notation", notation, list(NOTATIONS))
    bug = one_of("--bug", bug, list(BUGS))
    net, x, t, loss_name, source, info = _problem_args(
        model, input, target, loss, torch_model=torch_model, arch=arch, case=case
    )
    refuse_an_unreadable_network(
        net, model or torch_model, "explain", torch_arch=arch, torch=torch_model is not None
    )
    _refuse_writing_over_what_is_read(out, model, torch_model, input, target)
    # from --out's suffix, or refused when it says another format, before anything is worked
    # out; once nothing it must not overwrite is at stake (see _write), as graph's
    format = _drawing_format(out, format, formats=EXPLAIN_FORMATS)
    model = model or torch_model
    derivation = _explained(
        model,
        run_explain,
        net,
        x,
        t,
        loss_name,
        notation=notation,
        unit=unit,
        perturbation=perturbation,
        symbolic=symbolic,
        bug=bug,
        check=max_checks > 0,
        max_checks=max(max_checks, 1),
        case_source=source,
    )
    from chainrule.train.runs import weight_decay_note

    decay = weight_decay_note(info)  # the explorer's serve --model says it too
    if decay is not None:  # in the text's notes and the JSON's
        derivation.notes.append(decay)
    options = {"max_units": max_units, "max_cases": max_cases, "digits": digits,
               "focused": unit is not None, "host": "cli"}  # fmt: skip
    from chainrule.cli.train import _prints_results

    if format == "text" and out is None:
        from chainrule.explainer.document import Options

        if _prints_results():
            print_text(derivation, notation, Options(**options))
    else:
        _write(out, render(derivation, format, notation=notation, **options))
    skipped = derivation.symbolic and derivation.symbolic.get("status") == "skipped"
    if skipped and format == "text" and _prints_results():
        print(f"note: {derivation.symbolic['message']}", file=sys.stderr)
    # 1 for a disagreement only: no verdict (None) is said in the output, not a fault found
    return 1 if derivation.all_ok is False else 0


#: graph --kind's choices, in its help's order
GRAPH_KINDS = ("computation", "network")


@app.command(short_help="Compute dE/dy_i or dE/dw_ij by hand; chainrule checks.")
def quiz(
    seed: int = typer.Option(
        None, show_default="random", help="seed for the exercise (one seed, one network)"
    ),
    kind: str = typer.Option(
        None,
        metavar="NAME",
        show_default="drawn from the seed",
        help="dy (dE/dy_i) or dw (dE/dw_ij)",
    ),
    answer: str = typer.Option(
        None, metavar="NUMBER", help="your answer (skips the prompt; for scripts)"
    ),
) -> int:
    """A small random network: compute dE/dy_i or dE/dw_ij by hand; chainrule checks it.

    Exit status 0 for a right answer, 1 for a wrong one, 2 for no answer (the input ended at
    the prompt), an --answer that is not a number or another mistake in the options."""
    import random

    from chainrule.explainer.quiz import KINDS, check_answer, make_quiz

    refuse_a_parallel_job("quiz", "the exercise is one prompt for one person")
    kind = one_of("--kind", kind, KINDS)
    if seed is None:
        seed = random.randrange(1_000_000)
    elif seed < 0:
        raise UserError(f"--seed must be a whole number >= 0, not {seed}")
    exercise = make_quiz(seed, kind)
    print(f"Exercise {seed}:")
    print(exercise.question())
    if answer is None:
        answer = _ask_answer(exercise)
    try:
        verdict = check_answer(exercise, answer)
    except ValueError as error:
        raise UserError(f"--answer: {error}; write a number like -0.1234") from None
    print(verdict.message)
    return 0 if verdict.correct else 1


def _ask_answer(exercise: Quiz) -> str:
    """Prompt until the answer is a number the quiz grades: one with the asked significant
    digits, or one it accepts as written with fewer (0.0689 for 0.06890, as ``f"{x:.4g}"``
    writes it, which ``--answer`` accepts too). A typo or a rounded answer asks again rather
    than ending the exercise. The input ending (Ctrl-D, an
    empty pipe) is a missing answer, not an interruption: click's prompt turns both into one
    Abort, raised while it handles the EOFError or the KeyboardInterrupt, so the error it was
    handling tells them apart and only Ctrl-C stays "interrupted" (exit 130)."""
    from chainrule.explainer.quiz import (
        DIGITS,
        check_answer,
        digits_text,
        parse_answer,
        significant_digits,
    )

    while True:
        try:
            text = typer.prompt("Your answer")
        except ABORTS as abort:
            if isinstance(abort.__context__, EOFError):
                print()  # end the prompt's line
                raise UserError(
                    "no answer given (the input ended at the prompt); answer at the prompt or "
                    "with --answer, e.g. --answer -0.1234"
                ) from None
            raise
        try:
            written = significant_digits(text)
        except ValueError:
            print(f"{text.strip()!r} is not a number; write e.g. -0.1234 and try again")
            continue
        try:
            parse_answer(text)
        except ValueError as error:  # 1e999: a slip at the prompt, not an --answer given
            print(f"{error}; write e.g. -0.1234 and try again")
            continue
        if written >= DIGITS or check_answer(exercise, text).correct:
            return text
        print(f"{text.strip()} has {digits_text(written)}; give {DIGITS}, please")


@app.command(short_help="Draw the computation graph or the network.")
def graph(
    kind: str = typer.Option(
        "computation",
        metavar="NAME",
        help="computation (the recorded graph, unit by "
        "unit for the seed) or network (layers of circles)",
    ),
    model: Path = typer.Option(
        None, parser=path_value, help="a run directory or a saved model directory"
    ),
    input: str = typer.Option(
        None, "--input", metavar="NUMBERS|FILE", help="inputs, as for explain"
    ),
    target: str = typer.Option(None, metavar="NUMBERS|FILE", help="targets, as for explain"),
    loss: str = typer.Option(None, metavar="NAME", help="loss, as for explain"),
    format: str = typer.Option(
        None,
        "--format",
        metavar="NAME",
        show_default="from --out's suffix, else svg",
        help="svg or dot (--format dot without --out prints DOT on stdout)",
    ),
    out: Path = typer.Option(
        None,
        show_default="computation-graph.svg or network.svg",
        parser=file_path_value,
        metavar="FILE",
        help="write to this file (atomically; '-': stdout)",
    ),
    hide_implementation: bool = typer.Option(
        False,
        "--hide-implementation",
        help="leave out reshape and concatenate nodes (computation graph)",
    ),
    case: int = typer.Option(None, min=0, show_default="0", help=CASE_HELP),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="no notes on stderr (where the case comes from, why not drawn)"
    ),
) -> int:
    """Draw the seed's computation graph (values, gradients, what each consumer sends back) or
    a network diagram."""
    from chainrule.explainer import explain as run_explain
    from chainrule.viz.graph import FORMATS as GRAPH_FORMATS
    from chainrule.viz.graph import graph as draw_graph
    from chainrule.viz.graph import seed_graph
    from chainrule.viz.network import FORMATS as NETWORK_FORMATS
    from chainrule.viz.network import network_svg

    kind = one_of("--kind", kind, GRAPH_KINDS)  # each choice in any case (--kind Network)
    format = one_of("--format", format, list(GRAPH_FORMATS))
    _check_loss(loss)
    if out is None and format is None:  # a file, said in one line, rather than a screenful
        out = Path("network.svg" if kind == "network" else "computation-graph.svg")
    if kind == "network" and format == "dot":
        raise UserError("--kind network draws SVG only: use --format svg or --out FILE.svg")
    # the name against --format once nothing it must not overwrite is at stake (see _write);
    # a network diagram's against its own formats (SVG alone: .dot and .gv were offered)
    fmt = _drawing_format(out, format, check_name=format is None,
                          formats=NETWORK_FORMATS if kind == "network" else None)  # fmt: skip
    if kind == "network":
        if hide_implementation:  # it was ignored: a diagram of units has no implementation ops
            raise UserError("--hide-implementation hides ops of --kind computation's graph; "
                            "the network diagram draws units only")  # fmt: skip
        net, x, t, loss_name, source, _ = _problem_args(model, input, target, loss, case=case)
        refuse_an_unreadable_network(net, model, "the network diagram")
        _refuse_writing_over_what_is_read(out, model, None, input, target)
        # the diagram draws y, dE/dy and the weights: no checks, views or paths to compute (a
        # batch of 600 cases of a 784-256-10 network took 109 s, its finite differences)
        derivation = _explained(model, run_explain, net, x, t, loss_name, check=False,
                                perturbation=False, views=False, paths=False,
                                case_source=source)  # fmt: skip
        _write(out, network_svg(derivation), fmt)
        if not quiet:
            _say_where_the_case_comes_from(source)
        return 0
    source = None
    if model is not None or input is not None or target is not None:
        from chainrule.explainer.build import forward, problem_of

        net, x, t, loss_object, source, _ = _problem_args(model, input, target, loss, case=case)
        _refuse_writing_over_what_is_read(out, model, None, input, target)
        unreadable = _unreadable_network(net)
        if unreadable is not None:  # a network the explainer cannot write out layer by layer
            drawing = _explained(model, _engine_graph, net, x, t, loss_object, unreadable)
        else:
            problem = _explained(model, problem_of, net, x, t, loss_object)
            error = _explained(model, forward, problem)[2]
            drawing = draw_graph(error, model=net, names={id(error): "E"})
    elif loss is not None:
        raise UserError("--loss: the seed's graph needs --input and --target to use another loss")
    elif case is not None:
        raise UserError("--case picks a case of --model's run: give --model")
    else:
        drawing, _ = seed_graph()
    if hide_implementation:
        drawing = drawing.without()
    text = drawing.to_dot() if fmt == "dot" else drawing.to_svg()
    _write(out, text, fmt)
    from chainrule.cli.train import _prints_results

    if quiet:
        return 0
    if _prints_results():  # why graphviz did not draw it, or the explainer's view could not
        for note in drawing.notes:
            print(f"note: {note}", file=sys.stderr)
    _say_where_the_case_comes_from(source)
    return 0


def _say_where_the_case_comes_from(source: str | None) -> None:
    """A drawing's line on stderr of where its numbers' case comes from, in explain's words
    (:func:`_problem_args`'s, the write-up's "Where the cases come from"): that ``--input``'s
    rows were standardised with the model's saved mean and std, which case of the run ``--case``
    is; nothing where the numbers drawn are the ones given. The diagram's circles show the
    standardised inputs, and nothing else said so."""
    from chainrule.cli.train import _prints_results

    if source is not None and _prints_results():
        print(f"note: the numbers drawn are {source}", file=sys.stderr)
