"""Model files and training checkpoints: safetensors for arrays, JSON for everything else.

Nothing here pickles: a model file can be opened by anyone without running code from it.

A saved model is a directory::

    model.safetensors   the parameters (and persistent buffers), one tensor per ``named_state()``
                        name ("0.weight"), with ``weight_layout: chainrule`` in its metadata
    model.json          the architecture (``model.config()``), dtype, loss, standardizer state,
                        class names, the frozen parameters' names and free-form meta

Both files of a :func:`save_model` record the SHA-256 of the weights (``weights_sha256``, in the
metadata and in model.json), so :func:`load_model` refuses weights beside another save's
description (a save killed between replacing the two files) instead of mixing them.

A checkpoint directory holds one sub-directory per saved epoch (``epoch-000004/``), each a complete
model directory plus ``optimizer.safetensors`` (the optimizer's buffers, e.g. the momentum
``dw(t-1)``) and ``trainer.json`` (epoch, history, random-number-generator states, optimizer
hyperparameters, schedule and callback state). Each epoch directory is written under a temporary
name and renamed into place only when complete, so an interrupted save (Ctrl-C, a full disk) never
damages the last complete checkpoint.

A Linear weight is stored as chainrule holds it, (n_in, n_out) (the lecture's w_ij), where
PyTorch's is (n_out, n_in): same names, same shapes for a square layer, different numbers. So every
weight file says its layout in its safetensors metadata (``weight_layout``: ``chainrule`` or
``torch``) and every loader checks it (:func:`check_layout`): a file in the other layout is refused
with a message that says so. Files from before the key existed are chainrule's own
(``format: chainrule-model``) and load as before.

>>> import chainrule as cr                                           # doctest: +SKIP
>>> cr.io.save_model("runs/digits/model", model, loss=loss)          # doctest: +SKIP
>>> model, info = cr.io.load_model("runs/digits/model")              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import reprlib
import shlex
import shutil
import stat
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import backend
from chainrule.backend import to_numpy
from chainrule.errors import (
    ConfigError,
    ModelFileError,
    UserError,
    extras_needed_by,
    type_name,
    user_stacklevel,
)
from chainrule.files import (
    ASIDE_PREFIX,
    TMP_PREFIX,
    _temporary_prefix,
    atomic_write_bytes,
    atomic_write_json,
    fsync_dir,
    json_text,
    replace_dir,
    replace_together,
    restore_replaced,
    special_kind,
    staging_dir,
)
from chainrule.tensor import Tensor

if TYPE_CHECKING:  # the layers load where a model is built (build_model), not with io
    from chainrule.nn.module import Module

MODEL_FORMAT = "chainrule-model"
#: The safetensors metadata key naming how a file lays out Linear weights, and its two values.
LAYOUT_KEY = "weight_layout"
CHAINRULE_LAYOUT = "chainrule"
TORCH_LAYOUT = "torch"
_LAYOUTS = {
    CHAINRULE_LAYOUT: "chainrule's (n_in, n_out) layout (w_ij)",
    TORCH_LAYOUT: "PyTorch's (n_out, n_in) layout",
}
CHECKPOINT_FORMAT = "chainrule-checkpoint"
#: model.json's format version: bumped where a file's meaning would change for an older reader
#: (a field it would pass over and compute other numbers without), which refuses a version
#: newer than its own; every older version reads. 2: ``loss_reads`` and ``frozen`` are read (a
#: reader of version 1 may predate them). The history: docs/training.md, "File formats and
#: their versions".
FORMAT_VERSION = 2
#: run.json's marker and version (a run.json without them, from before: version 1); its
#: version is also that of the history.json beside it, a JSON array with no room for one.
RUN_FORMAT = "chainrule-run"
RUN_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
MODEL_JSON = "model.json"
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_JSON = "trainer.json"
_EPOCH_PREFIX = "epoch-"

__all__ = [
    "MODEL_FORMAT",
    "atomic_write_bytes",
    "atomic_write_json",
    "check_layout",
    "find_checkpoint",
    "incomplete_checkpoints",
    "load_checkpoint",
    "load_model",
    "model_files",
    "saved_loss",
    "read_arrays",
    "read_json",
    "read_metadata",
    "save_checkpoint",
    "save_model",
    "write_arrays",
]


# --------------------------------------------------------------------------------------------
# JSON and arrays on disk (the atomic writes themselves live in chainrule.files)
# --------------------------------------------------------------------------------------------


#: The most :func:`read_json` reads of a file: far above any JSON file chainrule writes (a
#: model.json of a large network is a few kB), so that a huge file (or /dev/zero under a
#: file's name) is refused before it fills the memory.
MAX_JSON_BYTES = 64 * 2**20


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a missing or unparsable file raises :class:`ModelFileError`, and so
    do one that is no regular file (a device such as /dev/zero, a pipe) and one larger than
    :data:`MAX_JSON_BYTES`, which are not read."""
    path = Path(path)
    try:
        _refuse_special_file(path, "a JSON file")
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size  # a file larger than the cap is not read
            raw = _read_capped(handle, size, MAX_JSON_BYTES) if size <= MAX_JSON_BYTES else None
        if raw is None or len(raw) > MAX_JSON_BYTES:
            raise ModelFileError(
                f"{path}: larger than {MAX_JSON_BYTES:,} bytes, too large for a JSON file "
                "chainrule reads"
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ModelFileError(f"{path}: file not found") from None
    except IsADirectoryError:  # before OSError, which it is (this branch never ran)
        raise ModelFileError(f"{path}: is a directory, not a JSON file") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not a JSON file (not UTF-8 text)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except RecursionError:
        raise ModelFileError(f"{path}: JSON nested too deeply to be a chainrule file") from None
    except ValueError:  # int()'s limit on digits: a "version" of 5,001 digits
        raise ModelFileError(f"{path}: {_too_many_digits()}") from None


def _read_capped(handle: Any, size: int, cap: int) -> bytes:
    """An open file's bytes, ``size`` of them as its size says, and where it holds more (it
    grew, or says 0 as /proc's files do) on up to ``cap`` and one past, a chunk at a time:
    ``read(cap + 1)`` allocates all of ``cap`` at once, whatever the file holds."""
    data = bytearray(handle.read(size + 1))
    while size < len(data) <= cap:
        chunk = handle.read(min(cap + 1 - len(data), 1 << 20))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def _too_many_digits(where: str = "it") -> str:
    """What :func:`json.loads` refuses beside bad JSON, said: a number of more digits than
    Python turns into an int (:func:`sys.get_int_max_str_digits`; its ValueError says to raise
    the limit, advice for a programmer, not for the user of a file)."""
    return (
        f"{where} holds an integer of more than {sys.get_int_max_str_digits()} digits, more than "
        "any chainrule file holds"
    )


def _refuse_special_file(path: Path, kind: str) -> None:
    """Refuse, by :class:`ModelFileError` naming it, a path (or the file a link points to) that
    is neither a regular file nor a directory: a device such as /dev/zero is read without end,
    and opening a pipe waits for a writer. A missing path raises FileNotFoundError, and a
    directory is left to the caller, which names it in its own words."""
    what = special_kind(path.stat().st_mode)
    if what is None:
        return
    raise ModelFileError(f"{path}: is {what}, not {kind} (chainrule reads regular files only)")


def write_arrays(
    path: str | os.PathLike, arrays: Mapping[str, Any], metadata: dict[str, str] | None = None,
    *, example: str = "arrays.safetensors",
) -> Path:  # fmt: skip
    """Save named arrays as one safetensors file, atomically.

    A ``path`` that names a directory (an existing one, or a name ending in ``/``, ``.``,
    ``..``) is refused as an :class:`IsADirectoryError` that names it and suggests ``example``
    inside it (:func:`chainrule.files.atomic_write_bytes`); nothing is written. So is a
    ``path`` that is no path (the arrays first: a ``TypeError`` saying the path comes first, as
    :func:`save_model` says it, :func:`check_path_argument`) or ``arrays`` that are no mapping.
    """
    check_path_argument(path, "write_arrays", then="arrays")
    if not isinstance(arrays, Mapping):
        raise TypeError(
            f"write_arrays: arrays must be a mapping of names to arrays ({{'weight': ...}}), "
            f"not {type_name(arrays)}; nothing was written"
        )
    return atomic_write_bytes(path, _safetensors_bytes(arrays, metadata), example=example)


def _safetensors_bytes(arrays: Mapping[str, Any], metadata: dict[str, str] | None) -> bytes:
    with extras_needed_by("writing a safetensors file"):
        from safetensors.numpy import save

    # np.asarray(order="C"), not np.ascontiguousarray, which turns a 0-d array (a step count) 1-d
    tensors = {name: np.asarray(to_numpy(value), order="C") for name, value in arrays.items()}
    return _in_sorted_order(save(tensors, metadata=metadata))


def _in_sorted_order(blob: bytes) -> bytes:
    """A safetensors file with its header's entries in sorted order: safetensors writes the
    metadata's keys in a random order at every call (a Rust hash map), so the same model saved
    twice, with the same seed, gave files that differ byte for byte. The header is the same JSON
    rearranged, of the same length, so the arrays' offsets after it stand."""
    length = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + length])
    metadata = header.pop("__metadata__", None)
    ordered = {} if metadata is None else {"__metadata__": dict(sorted(metadata.items()))}
    ordered.update(sorted(header.items()))
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()
    if len(text) > length:  # another JSON spelling than safetensors' (not seen): keep its own
        return blob
    return blob[:8] + text.ljust(length) + blob[8 + length :]


def read_arrays(
    path: str | os.PathLike, *, layout: str | None = CHAINRULE_LAYOUT
) -> dict[str, np.ndarray]:
    """Load a safetensors file; a missing, truncated or corrupt file raises ModelFileError.
    So does a pickle (``torch.save``'s zip archive holding ``data.pkl``, its legacy pre-zip
    format, ``_use_new_zipfile_serialization=False``, or a bare pickle of protocol 2 to 5),
    named as a pickle: nothing is ever unpickled (nor by :func:`read_array_shapes`, which
    refuses one alike).

    The arrays come back as the file holds them, so a file that declares another weight
    ``layout`` than the one asked for (by default chainrule's) is refused
    (:func:`check_layout`): the Linear weights of what :func:`chainrule.interop.save_torch`
    writes are PyTorch's (n_out, n_in), and a square layer's would load transposed into a
    chainrule model without an error. Read such a file with
    :func:`chainrule.interop.load_torch`, or pass ``layout="torch"`` to get its arrays in
    PyTorch's layout; ``layout=None`` reads any file without the check. A file that does not
    say its layout is taken to be in ``layout``.
    """
    if layout is not None and layout not in _LAYOUTS:
        raise ValueError(f"read_arrays: layout must be one of {sorted(_LAYOUTS)} or None, "
                         f"not {layout!r}")  # fmt: skip
    if layout is None:
        return _read_all_arrays(Path(path))
    return _read_arrays_in(path, layout)[0]


def _read_arrays_in(
    path: str | os.PathLike, layout: str
) -> tuple[dict[str, np.ndarray], dict[str, str], dict]:
    """:func:`read_arrays` of a file in ``layout`` (refused as it refuses one), the file's
    metadata and its header, read once: for a caller whose checks read them too."""
    arrays, header = _read_arrays_and_header(Path(path))
    metadata = _metadata_of(Path(path), header)
    try:
        _check_layout_of(path, metadata, layout, default=layout)
    except ModelFileError as error:
        raise ModelFileError(
            f"{error}; or read its arrays as they are with read_arrays(path, layout=None)"
        ) from None
    return arrays, metadata, header


def _read_all_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a safetensors file, as it holds them (bfloat16 widened to float32)."""
    return _read_arrays_and_header(path)[0]


def _read_arrays_and_header(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """:func:`_read_all_arrays`, and the file's header. The header is read first, and a file
    refused by it (:func:`_read_header`), by its metadata (:func:`read_metadata`) or holding
    more data than its tensors cover (:func:`_check_covered`) is refused before its data is
    read."""
    with extras_needed_by("reading a safetensors file"):
        from safetensors import SafetensorError
        from safetensors.numpy import load

    header, data_bytes = _read_header(path)
    _metadata_of(path, header)
    _check_covered(path, header, data_bytes)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a safetensors file") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        return load(data), header
    except SafetensorError as error:
        problem = _first_line(error)
    except KeyError:  # a dtype NumPy has no type for: bfloat16 (PyTorch's), the float8s
        return _read_widened(path, data, header, data_bytes), header
    _refuse_a_pickle(path, data[:_PICKLE_HEAD], data[-1:])
    raise ModelFileError(f"{path}: truncated or not a safetensors file ({problem})")


#: How much of a file's start tells a pickle: torch.save's zip archive names its first entry,
#: ``<name>/data.pkl``, in the first local header (30 bytes and the name).
_PICKLE_HEAD = 4096
#: How torch.save's format before the zip archive (PyTorch < 1.6, or
#: ``_use_new_zipfile_serialization=False``) begins: a protocol 2 pickle of its magic number.
#: Its raw storage bytes follow, so it does not end as a pickle does.
_LEGACY_TORCH_SAVE = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


def _refuse_a_pickle(path: Path, head: bytes, last: bytes) -> None:
    """Refuse, by name, a file that is what ``torch.save`` writes (a zip archive whose first
    entry is a pickle, or its legacy format) or a bare pickle (protocol 2 to 5, which ends in
    its STOP opcode), from its first :data:`_PICKLE_HEAD` bytes and its last byte: a pickle is
    never read, as unpickling a file can run code."""
    # a safetensors header 640 bytes long starts with the same two bytes, then its JSON's "{"
    bare = head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
    bare = bare and last == b"." and head[8:9] != b"{"
    torch_zip = head[:4] == b"PK\x03\x04" and b"data.pkl" in head
    if torch_zip or bare or head.startswith(_LEGACY_TORCH_SAVE):
        raise ModelFileError(
            f"{path}: is a pickle (torch.save's format), not a safetensors file; chainrule "
            "never unpickles a file (it can run code): save the weights with "
            "safetensors.torch.save_file(net.state_dict(), path)"
        )


def _read_widened(path: Path, data: bytes, header: dict, data_bytes: int) -> dict[str, np.ndarray]:
    """A safetensors file holding bfloat16 tensors, read with those widened to float32 (exact:
    a bfloat16 is the top half of a float32), from its bytes ``data`` and its ``header`` and
    number of data bytes as :func:`_read_header` gives them. Any other dtype NumPy cannot hold
    is refused, naming the tensor and its dtype."""
    start = len(data) - data_bytes
    arrays = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shape = _checked_entry(path, name, entry, data_bytes)
        begin, end = entry["data_offsets"]
        raw = data[start + begin : start + end]
        kind = entry["dtype"]
        if kind == "BF16":
            array = (np.frombuffer(raw, dtype="<u2").astype("<u4") << 16).view("<f4")
        elif kind in _NUMPY_DTYPES:
            array = np.frombuffer(raw, dtype=_NUMPY_DTYPES[kind]).copy()
        else:
            raise ModelFileError(
                f"{path}: tensor {name!r} is {kind}, which chainrule cannot read; save it as "
                "float32 or float64"
            )
        arrays[name] = array.astype(array.dtype.newbyteorder("="), copy=False).reshape(shape)
    return arrays


#: NumPy's dtype for each safetensors dtype it can hold (little-endian, as the format stores).
_NUMPY_DTYPES = {
    "BOOL": "?", "U8": "u1", "I8": "i1", "F16": "<f2", "I16": "<i2", "U16": "<u2",
    "F32": "<f4", "I32": "<i4", "U32": "<u4", "F64": "<f8", "I64": "<i8", "U64": "<u8",
}  # fmt: skip
#: Bytes per element of each safetensors dtype chainrule knows: NumPy's, bfloat16 and float8.
_SAFETENSORS_ITEMSIZE = {
    **{name: np.dtype(code).itemsize for name, code in _NUMPY_DTYPES.items()},
    "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
}  # fmt: skip
#: The dtype each safetensors dtype chainrule knows is, by NumPy's name (and the names of those
#: NumPy lacks): what a refusal of an array of another dtype says the file holds.
_STORED_DTYPES = {
    **{name: np.dtype(code).name for name, code in _NUMPY_DTYPES.items()},
    "BF16": "bfloat16", "F8_E4M3": "float8_e4m3", "F8_E5M2": "float8_e5m2",
}  # fmt: skip
#: The floating dtypes among them.
_STORED_FLOATS = frozenset(
    ("float16", "bfloat16", "float32", "float64", "float8_e4m3", "float8_e5m2")
)
#: The most a safetensors header may take (the format's own reference limit is 100 MB).
_MAX_HEADER_BYTES = 100_000_000


def _last_byte(handle: Any) -> bytes:
    """An open file's last byte (none for an empty file)."""
    handle.seek(max(handle.seek(0, os.SEEK_END) - 1, 0))
    return handle.read(1)


def _read_header(path: Path) -> tuple[dict, int]:
    """A safetensors file's JSON header and how many bytes of array data follow it. A file
    that is no regular file (/dev/zero), whose header is cut short, not JSON or not an object
    is refused naming it, and named a pickle where it is one (:func:`_refuse_a_pickle`)."""
    try:
        _refuse_special_file(path, "a safetensors file")
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            length = int.from_bytes(head, "little") if len(head) == 8 else -1
            fits = 0 <= length <= min(_MAX_HEADER_BYTES, size - 8)
            text = handle.read(length) if fits else b""
            if text.lstrip()[:1] != b"{":  # no JSON header: a pickle is named as one
                handle.seek(0)
                _refuse_a_pickle(path, handle.read(_PICKLE_HEAD), _last_byte(handle))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a safetensors file") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror or error})") from None
    if not fits:
        raise ModelFileError(f"{path}: truncated or not a safetensors file (bad header)")
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{path}: not a safetensors file (its header is not JSON)") from None
    except ValueError:  # int()'s limit on digits: a shape entry of 5,001 digits
        raise ModelFileError(f"{path}: {_too_many_digits('its header')}") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: not a safetensors file (its header is not an object)")
    return header, size - 8 - length


def read_array_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """The names and shapes a safetensors file holds, from its header alone (8 bytes and a JSON
    header: nothing is allocated for the arrays themselves).

    Each entry's byte range is checked against its dtype, its shape and the file's length, so
    the shapes returned are ones the file really holds. A missing, truncated or inconsistent
    file raises :class:`ModelFileError` naming it.
    """
    return _array_shapes_and_dtypes(Path(path))[0]


def _array_shapes_and_dtypes(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """:func:`read_array_shapes`, and each array's dtype as the file stores it, by NumPy's name
    (``bfloat16`` too, which reading widens to float32: the dtype a check must name)."""
    header, data_bytes = _read_header(path)
    shapes, dtypes = {}, {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shapes[name] = _checked_entry(path, name, entry, data_bytes)
        dtypes[name] = _STORED_DTYPES[entry["dtype"]]
    return shapes, dtypes


def _checked_entry(path: Path, name: str, entry: Any, data_bytes: int) -> tuple[int, ...]:
    try:
        itemsize = _SAFETENSORS_ITEMSIZE[entry["dtype"]]
        shape = tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        valid = all(type(d) is int and d >= 0 for d in (*shape, begin, end))
    except (KeyError, TypeError, ValueError):
        valid = False
    if (
        not valid
        or not 0 <= begin <= end <= data_bytes
        or end - begin != itemsize * math.prod(shape)
    ):
        raise ModelFileError(_entry_does_not_fit(path, name))
    return shape


def _entry_does_not_fit(path: Path, name: str) -> str:
    return f"{path}: truncated or not a safetensors file (entry {name!r} does not fit the file)"


def _check_covered(path: Path, header: dict, data_bytes: int) -> None:
    """Refuse a file whose ``data_bytes`` (the file's size past its header) run past the end
    of its tensors' byte ranges, from the header and the size alone: the format wants every
    byte covered, and a sparse file of gigabytes behind a 68-byte model was read whole before
    it was refused. An entry without a byte range of two whole numbers is refused as not
    fitting the file."""
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(type(o) is int for o in offsets)):  # fmt: skip
            raise ModelFileError(_entry_does_not_fit(path, name))
        end = max(end, *offsets)
    if data_bytes > end:
        raise ModelFileError(
            f"{path}: truncated or not a safetensors file (its header's tensors take {end} "
            f"bytes of data, the file holds {data_bytes}: file not fully covered)"
        )


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's header ({} when it has none); a value that
    is not a string is refused, naming the file and the key (the format's metadata maps names
    to strings: ``weight_layout: ["chainrule"]`` was a TypeError in :func:`check_layout`)."""
    path = Path(path)
    return _metadata_of(path, _read_header(path)[0])


#: How :func:`_metadata_of` names a JSON value that is not a string.
_JSON_KINDS = {list: "a list", dict: "an object", bool: "true or false", int: "a number",
               float: "a number", type(None): "null"}  # fmt: skip


def _metadata_of(path: Path, header: dict) -> dict[str, str]:
    """:func:`read_metadata` of the file at ``path``, whose ``header`` is read."""
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        return {}
    for key, value in metadata.items():
        if not isinstance(value, str):
            kind = _JSON_KINDS.get(type(value), type(value).__name__)
            raise ModelFileError(
                f"{path}: metadata {key!r} is {kind}, not a string (a safetensors file's "
                "metadata maps names to strings)"
            )
    return metadata


def file_layout(metadata: Mapping[str, str], default: str | None = None) -> str | None:
    """The weight layout a safetensors file's metadata declares.

    A file without ``weight_layout`` written by chainrule (``format: chainrule-model``, before the
    key existed) is in chainrule's layout; one marked ``format: pt`` (PyTorch's convention) in
    PyTorch's; otherwise ``default``.
    """
    if LAYOUT_KEY in metadata:
        return metadata[LAYOUT_KEY]
    if metadata.get("format") == MODEL_FORMAT:
        return CHAINRULE_LAYOUT
    if metadata.get("format") == "pt":
        return TORCH_LAYOUT
    return default


def check_layout(path: str | os.PathLike, expected: str, default: str | None = None) -> None:
    """Raise ModelFileError unless the safetensors file at ``path`` is in the ``expected`` layout.

    ``default`` is the layout assumed for a file that does not say (chainrule's loader assumes
    its own, for files written before the key existed; the PyTorch converter assumes PyTorch's).
    """
    _check_layout_of(path, read_metadata(path), expected, default)


def _check_layout_of(
    path: str | os.PathLike, metadata: Mapping[str, str], expected: str, default: str | None
) -> None:
    """:func:`check_layout` with the file's ``metadata`` already read."""
    found = file_layout(metadata, default)
    if found == expected:
        return
    if found in _LAYOUTS:
        how = (
            _how_to_read_chainrules(Path(path))
            if found == CHAINRULE_LAYOUT
            else "convert it with chainrule.interop.load_torch (chainrule explain --torch-model)"
        )
        raise ModelFileError(
            f"{path}: the weights are in {_LAYOUTS[found]}, not {_LAYOUTS[expected]} "
            f"({_layout_evidence(metadata)}); {how}"
        )
    raise ModelFileError(
        f"{path}: unknown weight layout {found!r} (metadata {LAYOUT_KEY}); expected "
        f"{expected!r}, {_LAYOUTS[expected]}"
    )


def _how_to_read_chainrules(path: Path) -> str:
    """How to read ``path``, a file in chainrule's layout: a model directory's weights (beside
    its model.json) load with load_model; any other file (what :func:`write_arrays` writes)
    holds arrays, not a model, and load_model of its folder would fail too."""
    if path.name == WEIGHTS_FILE and (path.parent / MODEL_JSON).is_file():
        return f"load it with chainrule.io.load_model (on the command line, --model {path.parent})"
    return (
        f"read its arrays with chainrule.io.read_arrays (it is no model directory's weights: "
        f"a saved model is a directory holding {MODEL_JSON} beside {WEIGHTS_FILE}, which "
        "chainrule.io.load_model reads)"
    )


def _layout_evidence(metadata: Mapping[str, str]) -> str:
    """What in a file's metadata told :func:`file_layout` its layout, quoted as the file has
    it (a file marked only ``format: pt`` says nothing of ``weight_layout``)."""
    if LAYOUT_KEY in metadata:
        return f"metadata {LAYOUT_KEY}={metadata[LAYOUT_KEY]}"
    if "format" in metadata:
        return f"metadata format={metadata['format']}"
    return f"the file's metadata has no {LAYOUT_KEY}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def _model_dtype(model: Any) -> str | None:
    """The one float dtype of the model's parameters and float buffers (``build_model`` casts
    everything to it), or None for a model that mixes float32 and float64 layers or buffers:
    each layer's config keeps its own, and casting them all to the first's would change the
    others (a float64 buffer of ``numpy.zeros`` beside float32 layers was saved, then refused
    by ``load_model`` as "stored as float64")."""
    names = {backend.dtype_name(p.dtype) for p in model.parameters()}
    if not names:
        return "float32"
    buffers = [t for _, t in _saved_buffers(model)]
    names |= {backend.dtype_name(t.dtype) for t in buffers if backend.is_floating(t.dtype, t.xp)}
    return names.pop() if len(names) == 1 else None


def _saved_buffers(model: Any) -> list[tuple[str, Any]]:
    """The persistent array buffers a model file holds beside the parameters, by dotted name:
    what ``Module.named_state`` lists after them."""
    return model.named_state()[len(model.parameters()) :]


def _loss_config(loss: Any) -> Any:
    """The loss as its ``config()``; a name is looked up first (an unknown one is a
    ConfigError before anything is written), so every model file stores the same form."""
    if loss is None:
        return None
    if isinstance(loss, str):
        from chainrule.nn.losses import loss_from_name

        loss = loss_from_name(loss)
    # a loss without config() (a Trainer's plain function) is no loss a file can rebuild:
    # stored as its type's name ("function"), predict and export of the checkpoint refused it
    return loss.config() if defines_config(loss) else None


def _loss_reads(loss: Any) -> dict[str, Any] | None:
    """What a loss no file can rebuild (a function of one's own, a Module without ``config()``)
    says of the network's outputs, its ``output_activation`` and ``threshold`` where it sets
    them as the tools read them: ``chainrule predict`` of its checkpoint cut one output unit of
    logits at 0.5, as a probability (:func:`loss_reader`). None for a chainrule loss, whose
    config says it, and for a loss that says nothing."""
    if loss is None or isinstance(loss, str) or defines_config(loss):
        return None
    activation = getattr(loss, "output_activation", None)
    threshold = getattr(loss, "threshold", None)
    reads = {}
    if activation in ("logistic", "softmax"):
        reads["output_activation"] = activation
    real = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if real and 0 < threshold < 1:
        reads["threshold"] = float(threshold)
    return reads or None


def output_reader(info: Mapping[str, Any], path: str | os.PathLike) -> Any:
    """How a saved model's outputs are read (``predict``, the exports): the loss its
    description ``info`` records, rebuilt (:func:`saved_loss`; ``path`` names the model in a
    refusal), else the stand-in its ``loss_reads`` describe, a loss of the run's own
    (:func:`loss_reader`), else None."""
    loss = saved_loss(info, path)
    return loss if loss is not None else loss_reader(info)


def loss_reader(info: Mapping[str, Any]) -> Any:
    """A loss standing in for one no file can rebuild, reading the outputs as it said it does
    (model.json's ``loss_reads``: its probabilities and where a unit is on), for ``predict``;
    None where the file says nothing. It computes no loss."""
    reads = info.get("loss_reads")
    if not reads:
        return None
    from chainrule.nn.losses import Loss

    reader = Loss()
    reader.output_activation = reads.get("output_activation")
    reader.threshold = reads.get("threshold", reader.threshold)
    return reader


def defines_config(obj: Any) -> bool:
    """Whether ``obj`` has a ``config()`` of its own that a file can store: not a plain
    function, and not an ``nn.Module`` subclass that inherits the base's, which only raises
    (a loss written as a Module, as in PyTorch, is a callable without chainrule's config(),
    stored as null as a function is; its Trainer refused any checkpoint_dir, saying "to
    save this module")."""
    config = getattr(obj, "config", None)
    if not callable(config):
        return False
    from chainrule.nn.module import Module

    return not (isinstance(obj, Module) and type(obj).config is Module.config)


def described_loss(loss: Any, function: str) -> Any:
    """``loss`` as a loss object where it is a loss's configuration, the form a model file
    stores and :func:`load_model` gives back (``info["loss"]``, ``{'type': 'cross-entropy'}``):
    checked as model.json's schema checks it, then rebuilt, so a loaded model saves again
    as it was. A configuration that is wrong (no ``type``, an unknown loss, an option the loss
    does not take) is a :class:`ConfigError` naming ``function``. Anything else is returned
    as given."""
    if not isinstance(loss, dict):
        return loss
    from chainrule.file_schemas import check_loss_config
    from chainrule.nn.losses import loss_from_config

    try:
        check_loss_config(loss)
        return loss_from_config(loss)
    except (ValueError, UserError) as error:  # the schema's words, or the loss's own
        raise ConfigError(
            f"{function}: loss {reprlib.repr(loss)}: {error}; nothing was written"
        ) from None


def _standardizer_state(standardizer: Any) -> Any:
    """The state (``{'mean': [...], 'std': [...]}``) a model file records of ``standardizer``:
    None, a state as it is, a fitted chainrule.data.Standardizer's, or a fitted scikit-learn
    ``StandardScaler``'s (``mean_`` and ``scale_``: it scales as the standardizer does, a
    constant column's scale taken as 1); anything else is refused (a :class:`ConfigError`,
    naming what it takes), and so is a StandardScaler that does not centre and scale. The one
    reading of a standardizer argument, for :func:`save_model`, ``fit`` and ``to_onnx``."""
    if standardizer is None or isinstance(standardizer, dict):
        return standardizer
    preprocessing = sys.modules.get("sklearn.preprocessing")  # imported if one was made
    if preprocessing is not None and isinstance(standardizer, preprocessing.StandardScaler):
        off = [flag for flag in ("with_mean", "with_std") if not getattr(standardizer, flag)]
        if off:  # it shifts or scales by nothing, where a model file's standardizer does both
            same = {  # what it amounts to
                ("with_mean",): "{'mean': [0.0, ...], 'std': list(scaler.scale_)}",
                ("with_std",): "{'mean': list(scaler.mean_), 'std': [1.0, ...]}",
                ("with_mean", "with_std"): "no standardizer (standardizer=None)",
            }[tuple(off)]
            raise ConfigError(
                f"standardizer: a StandardScaler with {' and '.join(f'{f}=False' for f in off)} "
                "does not both centre and scale the columns, as a model file's standardizer "
                f"does; give StandardScaler() fitted with its defaults, or what it amounts "
                f"to, {same}"
            )
        if not hasattr(standardizer, "scale_"):
            raise ConfigError(
                "standardizer: the StandardScaler is not fitted; fit it on the training data "
                "(the cases the model learnt from) first"
            )
        return {
            "mean": np.asarray(standardizer.mean_, dtype=np.float64).tolist(),
            "std": np.asarray(standardizer.scale_, dtype=np.float64).tolist(),
        }
    if not callable(getattr(standardizer, "state", None)):  # a bare AttributeError before
        raise ConfigError(
            "standardizer must be a fitted chainrule.data.Standardizer or scikit-learn "
            "StandardScaler, or a state, {'mean': [...], 'std': [...]}, not "
            f"{type_name(standardizer)}"
        )
    return standardizer.state()


def class_name_list(class_names: Any) -> list | None:
    """``class_names`` as the list a model file stores, None for none: any sequence of names is
    taken (a list, a tuple, a NumPy array such as scikit-learn's ``LabelEncoder.classes_``).
    One string is refused (a :class:`ConfigError`), not taken as its letters (``"abc"`` was
    stored as three names). What each name must be is checked by the file's schema."""
    if class_names is None:
        return None
    if isinstance(class_names, (str, bytes)):
        raise ConfigError(
            f"class_names must be a list of names, not the string {class_names!r}; give one "
            "name per output, e.g. class_names=['no', 'yes']"
        )
    return list(class_names)


def model_description(
    model: Any,
    *,
    loss: Any = None,
    standardizer: Any = None,
    class_names: list[str] | None = None,
    meta: dict | None = None,
) -> dict:
    """The JSON part of a model file (what ``model.json`` holds)."""
    return {
        "format": MODEL_FORMAT,
        "version": FORMAT_VERSION,
        "architecture": model.config(),
        "dtype": _model_dtype(model),
        "loss": _loss_config(loss),
        "loss_reads": _loss_reads(loss),
        "standardizer": _standardizer_state(standardizer),
        "class_names": class_name_list(class_names),
        "parameters": {name: list(p.shape) for name, p in model.named_state()},
        "frozen": [name for name, p in model.named_parameters() if not p.requires_grad],
        "meta": meta or {},
    }


def model_weights(model: Any) -> dict[str, np.ndarray]:
    """Every parameter and array buffer of ``model`` as a host array, by dotted name."""
    return {name: to_numpy(p.data) for name, p in model.named_state()}


#: The key, in model.json and in model.safetensors' metadata, of the SHA-256 of the weights
#: :func:`save_model` wrote: the two files of one save record the same, so :func:`load_model`
#: tells weights from another save than their description's (:func:`_check_saved_together`).
DIGEST_KEY = "weights_sha256"


def _weights_digest(weights: Mapping[str, np.ndarray]) -> str:
    """The SHA-256 of ``weights``: each array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        array = np.asarray(weights[name], order="C")
        # little-endian, as safetensors stores and reads back every array: a big-endian
        # weight (from a .npy or .mat of such a machine) saved fine but hashed otherwise
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        digest.update(json.dumps([name, array.dtype.str, array.shape]).encode())
        digest.update(array)
    return digest.hexdigest()


def _model_files(weights: dict, description: dict) -> dict[str, bytes]:
    """The two files of a model, in memory: a description that is not JSON fails here, before
    anything is written. Both record the weights' :data:`DIGEST_KEY`."""
    digest = _weights_digest(weights)
    metadata = {"format": MODEL_FORMAT, LAYOUT_KEY: CHAINRULE_LAYOUT, DIGEST_KEY: digest}
    return {
        WEIGHTS_FILE: _safetensors_bytes(weights, metadata),
        MODEL_JSON: json_text({**description, DIGEST_KEY: digest}).encode(),
    }


def _write_model_files(directory: Path, weights: dict, description: dict) -> None:
    """Both files into a new (staging) directory."""
    for name, data in _model_files(weights, description).items():
        atomic_write_bytes(directory / name, data)


def _replace_model_files(directory: Path, weights: dict, description: dict) -> None:
    """Both files of an existing model directory replaced: each is written in full under a
    temporary folder inside it, then the two are renamed over the old ones together
    (:func:`chainrule.files.replace_together`), so a failure or Ctrl-C at any point leaves the
    old model or the new one whole, never new weights under the old description. Other files
    in the directory stay.

    A process killed outright (SIGKILL, a power cut) between the two renames leaves the new
    weights beside the old model.json: no rename of two files is atomic. Both files record the
    weights' :data:`DIGEST_KEY`, so :func:`load_model` refuses that pair, naming it, rather
    than loading the weights under another save's standardizer or class names; the temporary
    folder such a kill leaves is removed by a later save once nothing in it has been written
    for an hour (:func:`_remove_staging_leftovers`)."""
    files = _model_files(weights, description)
    staged = staging_dir(directory / MODEL_JSON)
    try:
        for name, data in files.items():
            atomic_write_bytes(staged / name, data)
        replace_together([(staged / name, directory / name) for name in files])
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    fsync_dir(directory)


def check_path_argument(
    path: Any, function: str, *, model_first: bool = False, then: str = "model"
) -> None:
    """Raise TypeError where ``path`` is not a str or ``os.PathLike``, naming ``function`` and
    what was given. A model there (it has ``parameters``) means the arguments were swapped, and
    the message says which comes first: ``save_model(path, model)`` but
    ``interop.save_torch(model, path)`` and ``interop.to_onnx(model, path)``, so the swap is an
    easy one to make (a bare ``os.fspath`` TypeError named neither). ``then="arrays"`` is the
    other argument of ``write_arrays(path, arrays)``: a mapping there is the swap."""
    if isinstance(path, (str, os.PathLike)):
        return
    swapped = ""
    if hasattr(path, "parameters") if then == "model" else isinstance(path, Mapping):
        first, then = ("model", "path") if model_first else ("path", then)
        swapped = f" (the {first} comes first, then the {then})"
    raise TypeError(f"{function}: path must be a str or path, not {type(path).__name__}{swapped}")


def _refuse_non_module(model: Any) -> None:
    """Refuse a ``model`` that is not a chainrule module before anything is written: None
    (a builder that returned nothing) said "'NoneType' object has no attribute 'config'"."""
    from chainrule.nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(
            f"save_model: model must be a chainrule network (an nn.Module such as nn.mlp(...) "
            f"or nn.Sequential(...)), not {type_name(model)}; nothing was written"
        )


def save_model(
    path: str | os.PathLike,
    model: Any,
    *,
    loss: Any = None,
    standardizer: Any = None,
    class_names: list[str] | None = None,
    meta: dict | None = None,
) -> Path:
    """Save ``model`` as a directory holding ``model.safetensors`` and ``model.json``.

    ``loss`` (a chainrule loss object, such as ``nn.CrossEntropy()``, its name, or its
    configuration as :func:`load_model` gives it back in ``info["loss"]``), ``standardizer`` (a
    fitted :class:`chainrule.data.Standardizer`, its state, or a fitted scikit-learn
    ``StandardScaler``, recorded as its state) and ``class_names`` are stored
    so that :func:`load_model` gives everything ``predict`` needs: what it gives back saves
    again as it was (a configuration that is wrong is a :class:`ConfigError`). Any other
    ``loss`` (a PyTorch loss, a function, a loss class instead of an instance) is a
    :class:`ConfigError` naming what was given and what is accepted, and nothing is written.
    The names of the parameters with ``requires_grad=False`` are recorded as ``frozen``, and
    :func:`load_model` freezes them again.

    ``meta`` is a dict with string keys, holding what JSON holds (numbers, NaN and infinity
    too, strings, booleans, None, lists, tuples, dicts); a NumPy number or array is written as
    the JSON number or list it holds (:func:`chainrule.files.json_value`). Anything else (a
    set, an object) raises ``TypeError`` naming its type, and nothing is written.

    A new directory is written under a temporary name and renamed into place; in an existing
    one both files are written in full first and then renamed over the old ones (a failure
    while writing leaves the old model as it was). A save killed outright (SIGKILL) leaves its
    temporary folder (``.tmp-<name>.XXXXXXXX`` beside the directory, ``.tmp-model.json.XXXXXXXX``
    in it), which a later save to the same path removes once nothing in it, however deep, has
    been written for an hour (those names only: a younger one may be another process's save in
    progress); killed between
    the two renames, it leaves the new weights beside the old model.json, which
    :func:`load_model` refuses by the weights' digest both files record. Nothing is written
    that :func:`load_model` would refuse (the description's schema, layer widths that do not
    chain, class names that are empty, repeated or not one per output, a standardizer of
    another width, weights that are not finite, a module whose class is not registered with
    :func:`chainrule.nn.register_module`), nor into a checkpoint directory, which loads as its
    latest epoch, nor into a training run's directory, which loads as its ``model/``, nor over
    a ``model.json`` or ``model.safetensors`` that is not a chainrule model's (no ``"format":
    "chainrule-model"``, no ``weight_layout: chainrule``: another library's files, which would
    be lost). A PyTorch module is refused with the conversion to make first
    (``chainrule.interop.from_torch``), and anything else that is not a chainrule module (None)
    is a ``TypeError`` naming what was given.
    """
    check_path_argument(path, "save_model")
    from chainrule.interop.torch import refuse_torch_module
    from chainrule.nn.losses import check_loss_argument

    refuse_torch_module(model, "save_model")
    _refuse_non_module(model)
    loss = described_loss(loss, "save_model")
    check_loss_argument(loss, "save_model")
    path = Path(path)
    # before the description, whose schema refused a float16 model as a file's field 'dtype'
    _check_parameter_dtypes(model, path)
    description = model_description(
        model, loss=loss, standardizer=standardizer, class_names=class_names, meta=meta
    )
    _check_description(description, path)  # load_model would refuse it: write nothing
    _check_loss_fits(loss, description, "save_model")
    _check_registered(description["architecture"], path)
    _check_configs_rebuild(model, path)
    _refuse_broken_links(path)
    if path.exists() and not path.is_dir():
        raise ModelFileError(f"{path}: exists and is not a directory")
    epoch = _latest_epoch_dir(path) if path.is_dir() else None
    if epoch is not None:  # it would load as its latest epoch, not as this model
        raise ModelFileError(
            f"{path}: is a checkpoint directory (it holds {epoch.name}), which loads as its "
            "latest epoch; save the model in a directory of its own"
        )
    if path.is_dir() and _run_model_dir(path) is not None:  # it would load as model/
        raise ModelFileError(
            f"{path}: is a training run's directory (it holds {RUN_MODEL_DIR}/{MODEL_JSON}), "
            f"which loads as its {RUN_MODEL_DIR}/; save the model in a directory of its own"
        )
    if path.is_dir():
        _refuse_foreign_files(path)
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # mkdir's bare FileExistsError named the file alone
        raise ModelFileError(f"{path}: cannot make its directory: {blocking} is a file")
    weights = model_weights(model)
    _check_finite(weights, path)
    _check_sharing_survives(model, description, weights, path)
    try:
        _write_model(path, weights, description)
    except OSError as error:  # named by the user's directory, not the temporary one
        if error.errno is None or TMP_PREFIX not in str(error.filename or ""):
            raise
        raise type(error)(error.errno, error.strerror or str(error), str(path)) from error
    _warn_unregistered_loss(loss, path)
    return path


def _check_parameter_dtypes(model: Any, path: Path) -> None:
    """Refuse, before anything is written, a parameter that :func:`load_model` cannot build
    back: a layer's config names one dtype, float32 or float64, for all its own parameters,
    so a weight set through ``.data`` to an array of another dtype (float64 in a float32
    layer, float16, integers, complex, longdouble) was written, then refused at load (another
    parameter "stored as float32", "truncated") or by safetensors' own error. Layers of
    float32 and float64 side by side stay saved, and so does a registered module of one's own
    whose constructor makes parameters of two dtypes (it is rebuilt by that constructor). In a
    layer of two dtypes the parameter named is the one whose dtype the model's parameters do
    not mostly have (ties go to float32). A model with no float32 or float64 parameter at all
    (float16 throughout, as ``p.data = p.data.astype(np.float16)`` makes it) is refused naming
    its first parameter, with ``model.to("float32")``, which converts every one."""
    counts: dict[str, int] = {}
    for _, parameter in model.named_parameters():
        kind = backend.dtype_name(parameter.dtype)
        counts[kind] = counts.get(kind, 0) + 1
    usable = [kind for kind in ("float32", "float64") if kind in counts]
    model_dtype = max(usable, key=lambda kind: (counts[kind], kind == "float32"), default=None)
    if model_dtype is None and counts:
        name, parameter = next(iter(model.named_parameters()))
        kinds = " and ".join(sorted(counts))
        every = "as is every other" if len(counts) == 1 else f"and the others are {kinds}"
        raise ModelFileError(
            f"{path}: cannot save this model: parameter {name!r} is "
            f"{backend.dtype_name(parameter.dtype)}, {every}, but load_model builds each layer "
            "in float32 or float64; convert the model first: model.to('float32') "
            "(nothing was written)"
        )
    for prefix, module in model.named_modules():
        if not type(module).__module__.startswith("chainrule."):  # rebuilt by its own
            continue  # constructor, whose parameters may be of several dtypes by design
        own = [(key, p) for key, p in module._parameters.items() if p is not None]
        kinds = {backend.dtype_name(p.dtype) for _, p in own}
        if kinds <= {"float32"} or kinds <= {"float64"}:
            continue
        layer = model_dtype if model_dtype in kinds else next(iter(kinds & set(usable)), None)
        for key, parameter in own:
            kind = backend.dtype_name(parameter.dtype)
            if kind != layer:
                wanted = layer or model_dtype or "float32"
                name = f"{prefix}.{key}" if prefix else key
                raise ModelFileError(
                    f"{path}: cannot save this model: parameter {name!r} is {kind} but the "
                    f"model's are {wanted} (load_model builds each layer in one dtype, float32 "
                    f"or float64); convert it first: p.data = p.data.astype(numpy.{wanted}) "
                    "(nothing was written)"
                )


def _warn_unregistered_loss(loss: Any, path: Path) -> None:
    """Warn, once the model is saved, where its loss is a class of one's own that is not
    registered (:func:`chainrule.nn.register_loss`): the file names it, and :func:`load_model`
    gives the model back, but no program can rebuild the loss from the file, so ``chainrule
    explain``, ``evaluate`` and ``predict`` of the model refuse it. A warning, not a refusal
    (as an unregistered module is refused): the model itself loads, and a checkpoint of such
    a loss resumes with the loss given again."""
    from chainrule.nn.losses import unregistered_loss
    from chainrule.nn.module import ON_THE_COMMAND_LINE

    kind = unregistered_loss(loss)
    if kind is None:
        return
    warnings.warn(
        f"{path}: its loss ({type(loss).__name__}, saved as {kind!r}) is of a class that is "
        "not registered, so no program can rebuild the loss from the model file (load_model "
        "gives the model back, but chainrule explain, evaluate and predict of it refuse it); "
        "register the class with @chainrule.nn.register_loss before saving, and in the "
        f"program that loads the model too ({ON_THE_COMMAND_LINE})",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _refuse_broken_links(path: Path) -> None:
    """Refuse, naming it, a symbolic link at ``path`` or above it that leads nowhere (to a
    missing target, or round a loop): the save raised a bare "File exists" or "Not a
    directory" there, naming no link. Nothing is written."""
    for place in (path, *path.parents):
        if not place.is_symlink():
            continue
        try:
            place.stat()
        except OSError as error:
            reason = (
                f"a symbolic link in a loop ({error.strerror})"
                if error.errno == errno.ELOOP
                else f"a symbolic link to {os.readlink(place)}, which does not exist"
            )
            raise ModelFileError(
                f"{path}: cannot save there: {place} is {reason}; give a directory, or "
                "mend the link (nothing was written)"
            ) from None


def is_model_description(data: Any) -> bool:
    """Whether parsed JSON is a chainrule model description by its marker (an object whose
    ``format`` is :data:`MODEL_FORMAT`), whatever else in it is wrong."""
    return isinstance(data, dict) and data.get("format") == MODEL_FORMAT


def _is_ours(path: Path) -> bool:
    """Whether ``path``, a model.json or model.safetensors, carries chainrule's marker: the
    description's ``format``, the weights' layout (:func:`file_layout`: ``weight_layout:
    chainrule``, or ``format: chainrule-model`` from before the key). A file that cannot be
    read as one is not."""
    try:
        if path.name == MODEL_JSON:
            return is_model_description(read_json(path))
        return file_layout(read_metadata(path)) == CHAINRULE_LAYOUT
    except ModelFileError:
        return False


def _refuse_foreign_files(directory: Path) -> None:
    """Refuse to save into a directory whose model.json or model.safetensors is not a chainrule
    model's (a Hugging Face config, a PyTorch state dict): save_model replaces both, and the
    user's file was lost without a word. A chainrule model's files are replaced."""
    for file in (directory / MODEL_JSON, directory / WEIGHTS_FILE):
        if file.exists() and not _is_ours(file):
            marker = (
                f'"format": "{MODEL_FORMAT}"'
                if file.name == MODEL_JSON
                else f"metadata {LAYOUT_KEY}={CHAINRULE_LAYOUT}"
            )
            raise ModelFileError(
                f"{file}: is not a chainrule model's file (it has no {marker}), and saving a "
                "model here would replace it; save the model in a directory of its own, or move "
                "the file away first (nothing was written)"
            )


def _write_model(path: Path, weights: dict, description: dict) -> None:
    """The model's two files into ``path``, a new directory renamed into place or an existing
    one whose two files are replaced together, after removing what an earlier save to ``path``
    killed midway left behind."""
    _remove_staging_leftovers(path)
    if path.is_dir():
        _replace_model_files(path, weights, description)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(path)
    try:
        _write_model_files(tmp, weights, description)
        os.rename(tmp, path)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not path.is_dir():
            raise
        # another process saved to the same new path since it was looked at: its files are
        # replaced, as in a save to an existing path (the last writer wins), where the loser
        # got a bare "Directory not empty"
        _refuse_foreign_files(path)
        _replace_model_files(path, weights, description)
        return
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(path.parent)


def _check_description(description: dict, path: Path) -> None:
    """What :func:`load_model` checks of a description (the schema, the layers' widths, the
    standardizer's and the class names' sizes) and names that tell the classes apart, checked
    before a model or a checkpoint is saved: a file that would not load must not be written,
    least of all over a good one."""
    from chainrule.file_schemas import ModelDescription, validate_file

    validate_file(ModelDescription, description, path, "model description")
    _check_widths(description, path)
    _check_io_sizes(description, path)
    _check_class_names(description.get("class_names"), path)


def _check_loss_fits(loss: Any, description: dict, function: str) -> None:
    """Refuse a model its loss cannot train (cross-entropy over one output unit, whose softmax
    is always 1), in the loss's own words (:func:`chainrule.nn.losses.check_loss_fits`): such
    a file predicted probability 1 for every case, and training from it learned nothing."""
    from chainrule.nn.losses import check_loss_fits
    from chainrule.train.runs import told_output_width

    check_loss_fits(loss, _widths_told(told_output_width, description), function)


def _check_registered(architecture: Any, path: Path) -> None:
    """Refuse, before anything is written, a model holding a module of a class that is not
    registered (:func:`chainrule.nn.register_module`): :func:`load_model` rebuilds only
    registered classes, so it would refuse the file."""
    kind = _unregistered_type(architecture)
    if kind is not None:
        raise ModelFileError(
            f"{path}: cannot save this model: it holds a {kind} module, a class that is not "
            f"registered, so load_model could not rebuild it (nothing was written); register "
            f"the class with @chainrule.nn.register_module (or chainrule.nn.register_module("
            f"{kind})) before saving, and in the program that loads the model too"
        )


def _check_configs_rebuild(model: Any, path: Path) -> None:
    """Refuse, before anything is written, a model holding a module of a class of one's own
    whose ``config()`` does not rebuild it: :func:`load_model` builds every module from its
    config, so a config with a misspelt argument (``{"type": "Swish", "b": 2.0}``) or no
    ``type`` wrote a file that failed to load. Each such module is built from its config as
    the file would hold it (JSON) and compared with itself (:func:`_config_problem`); a config
    that leaves out an argument the module keeps with another value than its default is
    warned about, not refused (:func:`_warn_left_out`). chainrule's own classes, whose configs
    its tests check, are not rebuilt, so a model of them alone costs nothing here. The modules
    checked are those whose configs the file holds: the model's own, and inside chainrule's
    containers their layers' (a class of one's own builds what it holds itself, which its
    rebuild compares)."""
    from chainrule.checks import is_chainrules

    stack = [("", model)]  # depth first, in the model's order: a loop, as models nest deep
    while stack:
        name, module = stack.pop()
        if is_chainrules(type(module)):
            inner = [(f"{name}.{key}" if name else key, m) for key, m in module._modules.items()]
            stack.extend(reversed(inner))
            continue
        where = f"its module {name!r}" if name else "the model"
        problem = _config_problem(module, path, where)
        if problem is not None:
            raise ModelFileError(
                f"{path}: cannot save this model: {where} (a {type(module).__name__}) would not "
                f"load as it is: {problem}; config() must return 'type' (the name the class is "
                "registered under) and every argument of its constructor, so that the "
                "constructor rebuilds it (nothing was written)"
            )


class _Rebuilt:
    """What :func:`_config_problem` keeps of the module one (class, config) rebuilds, so that
    the next save of a module of that class and config compares with it without building
    another: a refusal that follows from the config alone (``problem``), or the rebuilt
    module's state shapes, its ``config()`` as JSON and the values it keeps for the
    constructor arguments the config leaves out; and the warnings already given for it."""

    __slots__ = ("problem", "shapes", "config", "left_out", "warned")

    def __init__(self, problem: str | None = None, shapes: dict | None = None,
                 config: Any = None, left_out: dict | None = None) -> None:  # fmt: skip
        self.problem, self.shapes, self.config = problem, shapes or {}, config
        self.left_out = left_out or {}
        self.warned: set[tuple[str, str]] = set()


#: The rebuilds :func:`_config_problem` made, by (class, the class the config names, the
#: config as JSON): a save builds a module of one's own once per process, not at every save
#: or checkpoint (a Trainer checkpointing every epoch built the whole model again each time).
#: Bounded: the oldest goes first.
_REBUILDS: dict[tuple[type, type, str], _Rebuilt] = {}
_MAX_REBUILDS = 256


def _config_problem(module: Any, path: Path, where: str) -> str | None:
    """What keeps ``module``'s ``config()`` from rebuilding it, in words, or None: no ``type``,
    a ``type`` naming another class, a key its constructor does not take, a build that fails,
    or a module built that differs from it (another class, other state names or shapes,
    another config). A constructor argument the config leaves out that the module keeps as an
    attribute (such as ``beta``) with another value than the rebuilt one's is warned about
    (:func:`_warn_left_out`, naming ``path`` and ``where``): the module may well load as it is
    (an init scheme or a verbose flag changes nothing a file holds), which no check can tell
    from an argument that changes what it computes. The build is made once per (class,
    config) and kept (:data:`_REBUILDS`)."""
    from chainrule import nn

    cls = type(module)
    config = module.config()
    if not isinstance(config, Mapping) or "type" not in config:
        return f"its config() gives {reprlib.repr(config)}, with no 'type'"
    # the class the file rebuilds: its own, or a class it derives from whose computation it
    # keeps (a Linear subclass that only adds methods is saved as a Linear, by design)
    target = nn.registered_modules().get(config["type"], cls)
    if not issubclass(cls, target):
        return f"its config()'s 'type' {config['type']!r} names {target.__qualname__}, not it"
    text = json_text(config)
    key = (cls, target, text)
    rebuilt = _REBUILDS.get(key)
    if rebuilt is None:
        rebuilt = _rebuild(target, config, text)
        if len(_REBUILDS) >= _MAX_REBUILDS:
            del _REBUILDS[next(iter(_REBUILDS))]
        _REBUILDS[key] = rebuilt
    if rebuilt.problem is not None:
        return rebuilt.problem
    problem = _rebuilt_differs(module, rebuilt, config, text)
    if problem is None:
        _warn_left_out(module, rebuilt, path, where)
    return problem


def _rebuild(target: Any, config: Mapping[str, Any], text: str) -> _Rebuilt:
    """Build ``target`` from ``config`` (``text``, its JSON) as :func:`load_model` would, and
    keep what :func:`_config_problem` compares of it (:class:`_Rebuilt`); the module built is
    not kept (a model's second copy of its weights)."""
    import inspect

    from chainrule import nn

    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a constructor Python cannot read: the build says
        signature = None
    arguments = {} if signature is None else dict(signature.parameters)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in arguments.values())
    own_build = getattr(target.from_config, "__func__", None) is not nn.Module.from_config.__func__
    if signature is not None and not takes_any and not own_build:
        unknown = [key for key in config if key != "type" and key not in arguments]
        if unknown:
            taken = ", ".join(arguments) or "none"
            return _Rebuilt(
                f"its config() gives the key {unknown[0]!r}, which is no argument of its "
                f"constructor (its arguments: {taken})"
            )
    try:
        with _draws_kept():  # as the file holds it: a tuple comes back a list
            built = nn.from_config(json.loads(text))
    except Exception as error:  # any failure: the load would fail alike
        return _Rebuilt(
            f"its config() {reprlib.repr(config)} does not rebuild it ({_first_line(error)})"
        )
    if type(built) is not target:
        return _Rebuilt(f"its config() rebuilds a {type(built).__name__}")
    # the arguments the config leaves out take their defaults when the file loads: the values
    # the rebuilt module keeps for them (self.beta = beta), compared with the saved module's
    # (an argument the config gives is compared as the config is; one that only seeds or
    # initialises the weights, which loading replaces, is not compared)
    left_out = {}
    for name in arguments:
        value = vars(built).get(name, _NONE)
        if name not in config and not _draws_only(name) and _plain(value):
            left_out[name] = value
    return _Rebuilt(
        shapes={name: tuple(t.shape) for name, t in built.named_state()},
        config=built.config(),
        left_out=left_out,
    )


def _rebuilt_differs(
    module: Any, rebuilt: _Rebuilt, config: Mapping[str, Any], text: str
) -> str | None:
    """How the module ``config()`` rebuilt (``rebuilt``, what was kept of it) differs from
    ``module``, whose config is ``config`` (``text`` as JSON), or None."""
    mine = {name: tuple(t.shape) for name, t in module.named_state()}
    theirs = rebuilt.shapes
    for name in [*mine, *(name for name in theirs if name not in mine)]:
        if name not in theirs:
            return f"the module its config() rebuilds has no {name!r}"
        if name not in mine:
            return f"the module its config() rebuilds has {name!r}, which it has not"
        if mine[name] != theirs[name]:
            return (
                f"its {name!r} has shape {mine[name]}, but the module its config() rebuilds "
                f"has {theirs[name]}"
            )
    again = rebuilt.config
    if json_text(again) != text:
        keys = [*config, *(key for key in again if key not in config)]
        key = next(k for k in keys if json_text(config.get(k)) != json_text(again.get(k)))
        return (
            f"its config() gives {key!r} as {config.get(key)!r}, but the module that config "
            f"rebuilds gives {again.get(key)!r}"
        )
    return None


def _warn_left_out(module: Any, rebuilt: _Rebuilt, path: Path, where: str) -> None:
    """Warn, once per (class, config, argument, value), where ``module`` keeps another value
    for a constructor argument its config leaves out than the module the config rebuilds
    (``rebuilt``): the file loads with the default. A guess, so not a refusal: ``beta`` left
    out changes what the module computes, ``verbose`` left out changes nothing."""
    for name, built in rebuilt.left_out.items():
        kept = vars(module).get(name, _NONE)
        if not _plain(kept) or json_text(kept) == json_text(built):
            continue
        said = (name, json_text(kept))
        if said in rebuilt.warned:
            continue
        rebuilt.warned.add(said)
        warnings.warn(
            f"{path}: {where} (a {type(module).__name__}) will load with {name}={built!r}, not "
            f"{kept!r} as it has here: its config() leaves out the constructor's argument "
            f"{name!r}; if {name!r} changes what the module computes, add it to config() (an "
            "argument that changes nothing once the weights are loaded, such as an init "
            "scheme, may stay out)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


#: Constructor arguments that only seed or initialise the weights, which a load replaces (with
#: :func:`_draws_only`'s names by prefix and suffix): one left out of a config is not warned
#: about.
_DRAWS = frozenset(
    ("rng", "seed", "generator", "random_state", "random_seed", "init", "initializer",
     "init_range", "weight_init", "bias_init", "kernel_initializer", "bias_initializer")
)  # fmt: skip


def _draws_only(name: str) -> bool:
    """Whether a constructor argument named ``name`` only seeds or initialises the weights
    (:data:`_DRAWS`, ``init_*``, ``*_init``, ``*_initializer``, ``*_seed``, ``*_rng``)."""
    return (
        name in _DRAWS
        or name.startswith("init_")
        or name.endswith(("_init", "_initializer", "_seed", "_rng"))
    )


#: No value (an attribute a module does not have).
_NONE = object()


def _plain(value: Any) -> bool:
    """Whether ``value`` is a number, string, boolean or None, or a list or tuple of them: a
    constructor's argument a module keeps as it was given, compared after a rebuild."""
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _draws_kept() -> contextlib.AbstractContextManager[None]:
    """:func:`chainrule.nn.init.draws_kept`, its one home: a module built to be loaded or
    compared moves none of the user's generators, so loading or saving a model changes no draw
    of theirs (``cr.randn`` after ``cr.manual_seed`` and a load is the seeded one)."""
    from chainrule.nn.init import draws_kept

    return draws_kept()


def _unregistered_type(architecture: Any) -> str | None:
    """The first module type in ``architecture`` that ``nn.from_config`` does not know, or None:
    the top one's and, inside chainrule's containers, their layers' and branches' (a registered
    class of one's own rebuilds what it holds itself). A loop: a model may nest thousands deep."""
    from chainrule.nn import registered_modules

    known = registered_modules()
    stack = [architecture]
    while stack:
        config = stack.pop()
        kind = config.get("type") if isinstance(config, Mapping) else None
        if not isinstance(kind, str):
            continue  # not a module's config: the schema and from_config name what is wrong
        if kind not in known:
            return kind
        if kind in ("Sequential", "Parallel"):  # chainrule's own names, reserved
            inner = config.get("layers") if kind == "Sequential" else config.get("branches")
            stack.extend(inner if isinstance(inner, list) else [])
    return None


def _check_widths(description: dict, source: Path) -> None:
    """Refuse layers whose widths do not chain (Linear(4, 5) then Linear(6, 2)), read off the
    architecture alone: every command that ran the model met the engine's error instead."""
    from chainrule.train.runs import width_mismatch

    mismatch = width_mismatch(description.get("architecture"))
    if mismatch is not None:
        raise ModelFileError(f"{source}: field 'architecture': {mismatch}")


def _check_class_names(names: list[str] | None, source: Path) -> None:
    """Names that tell the classes apart, checked when a model is saved (a file written before
    this check still loads): predict writes a name per case, so an empty one is an empty cell
    and a repeated one two classes that no one can tell apart."""
    seen: dict[str, int] = {}
    for k, name in enumerate(names or []):
        if not name.strip():
            raise ModelFileError(f"{source}: field 'class_names': name {k} is empty")
        if name in seen:
            raise ModelFileError(
                f"{source}: field 'class_names': names {seen[name]} and {k} are both {name!r}"
            )
        seen[name] = k


def _check_sharing_survives(model: Any, description: dict, weights: dict, path: Path) -> None:
    """Refuse, before anything is written, a model that shares a module or a parameter between
    two places unless its architecture rebuilds the same weights: ``Sequential(l, act, l)`` is
    described as two layers, whose file :func:`load_model` could not read (a custom module whose
    own constructor makes the sharing rebuilds it). So is a parameter or buffer on another's
    memory (``nn.Parameter(w.data)``), which the rebuild would make two arrays, trained apart
    once loaded, unless the rebuilt model shares them too
    (:func:`~chainrule.checks.shared_arrays`). Unshared models skip the rebuild."""
    from chainrule.checks import shared_arrays

    places = list(model.named_modules(remove_duplicate=False))
    parameter_places = sum(len(module._parameters) for _, module in places)
    modules, parameters = list(model.named_modules()), model.named_parameters()
    on_one_array = shared_arrays((name, tensor.data) for name, tensor in model.named_state())
    if len(places) == len(modules) and parameter_places == len(parameters) and not on_one_array:
        return  # nothing shared
    rebuilt = dict(build_model(description, path).named_state())
    missing = sorted(set(rebuilt) - set(weights))
    if missing:  # every one named, and where the model uses each shared parameter
        raise ModelFileError(
            f"{path}: cannot save this model: a module or parameter is shared by two places "
            f"that its architecture (config()) builds as separate ones ({shared_places(model)}"
            f"), so the file could not be loaded ({_quoted(missing)} would be missing); use "
            f"copy.deepcopy(layer) in the second place for two separate layers, or {_TIE}"
        )
    apart = [
        (first, second)
        for first, second in on_one_array  # (one the rebuild lacks: it ties them as one)
        if first in rebuilt
        and second in rebuilt
        and not shared_arrays([(first, rebuilt[first].data), (second, rebuilt[second].data)])
    ]
    if apart:
        pairs = "; ".join(f"{second!r} shares its memory with {first!r}" for first, second in apart)
        raise ModelFileError(
            f"{path}: cannot save this model: {pairs} (a tensor made on the other's array, e.g. "
            "nn.Parameter(w.data)), which its architecture (config()) builds as separate "
            f"arrays, so the model loaded would train them apart; {_TIE}, or give each its own "
            "copy (w.data.copy())"
        )


#: How to keep a tie a model file can hold, as the sharing refusals say it.
_TIE = (
    "tie them as one parameter in a module whose constructor makes the tie (a class of your "
    "own, registered with nn.register_module, whose config() rebuilds it)"
)


def _quoted(names: list[str]) -> str:
    """``'a', 'b' and 'c'``: every name, quoted."""
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _parameter_places(model: Any) -> list[list[str]]:
    """Every name of each parameter the model uses in more than one place."""
    places: dict[int, list[str]] = {}
    for prefix, module in model.named_modules(remove_duplicate=False):
        for name, parameter in module._parameters.items():
            if parameter is not None:
                places.setdefault(id(parameter), []).append(f"{prefix}.{name}" if prefix else name)
    return [names for names in places.values() if len(names) > 1]


def shares_parameters(model: Any) -> bool:
    """Whether the model uses one parameter in more than one place (one Linear twice)."""
    return bool(_parameter_places(model))


def shared_places(model: Any) -> str:
    """Each parameter the model uses in more than one place, by every name: "'0.weight' is
    also '2.weight'; '0.bias' is also '2.bias'" (a module without parameters used twice: "a
    module used in two places"). The one wording of the sharing refusals, io's and
    save_torch's."""
    shared = _parameter_places(model)
    if not shared:
        return "a module used in two places"
    return "; ".join(f"{names[0]!r} is also {_quoted(names[1:])}" for names in shared)


def read_model_description(path: str | os.PathLike) -> dict:
    """``model.json`` parsed and checked against its schema
    (:class:`chainrule.file_schemas.ModelDescription`): one ModelFileError line naming the file
    and the field for anything missing, of the wrong type or out of range."""
    from chainrule.file_schemas import ModelDescription, check_version, validate_file

    path = Path(path)
    data = read_json(path)
    if is_model_description(data):  # a newer file by its version, not by a field it changed
        check_version(data, path, FORMAT_VERSION, "format")
    return validate_file(ModelDescription, data, path, "model description")


def config_objects(config: Any) -> Iterator[Mapping[str, Any]]:
    """Every object (dict) in a nested architecture's config, itself included, in no set
    order: a loop, not recursion, since a file may nest layers thousands deep."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def claimed_weights(architecture: Any) -> int:
    """How many numbers the architecture's layers would allocate, counted from the description
    alone (each layer with ``n_in`` and ``n_out``: a weight matrix and, with ``bias``, a bias)."""
    total = 0
    for item in config_objects(architecture):
        n_in, n_out = item.get("n_in"), item.get("n_out")
        if isinstance(n_in, int) and isinstance(n_out, int):
            total += max(n_in, 0) * max(n_out, 0) + (max(n_out, 0) if item.get("bias") else 0)
    return total


def check_claims(description: dict, shapes: Mapping[str, tuple], json_path: Path, weights_path: Path
                 ) -> None:  # fmt: skip
    """Refuse a model.json whose claims disagree with the weights file's header, before anything
    is allocated: the parameter list must name exactly the arrays the file holds, with their
    shapes, and the architecture may not need more numbers than the file has."""
    claimed = {name: tuple(shape) for name, shape in description.get("parameters", {}).items()}
    for name, shape in claimed.items():
        if name not in shapes:
            raise ModelFileError(
                f"{weights_path}: parameter {name!r} is missing ({json_path.name}, field "
                "'parameters', names it)"
            )
        if shapes[name] != shape:
            raise ModelFileError(
                f"{weights_path}: parameter {name!r} has shape {shapes[name]} but the architecture "
                f"needs {shape} ({json_path.name}, field 'parameters')"
            )
    extra = sorted(set(shapes) - set(claimed))
    if extra:
        raise ModelFileError(
            f"{weights_path}: unexpected parameter {extra[0]!r} (not in {json_path.name}, field "
            "'parameters')"
        )
    held = sum(math.prod(shape) for shape in shapes.values())
    needed = claimed_weights(description["architecture"])
    if needed > held:
        raise ModelFileError(
            f"{json_path}: field 'architecture' needs {needed} weights but {weights_path.name} "
            f"holds {held}"
        )


def _check_finite(weights: Mapping[str, np.ndarray], source: Path) -> None:
    for name, values in weights.items():
        if np.issubdtype(values.dtype, np.floating) and not np.all(np.isfinite(values)):
            raise ModelFileError(
                f"{source}: parameter {name!r} holds NaN or infinite values (a diverged or "
                "damaged model)"
            )


def _check_io_sizes(description: dict, source: Path) -> None:
    """The standardizer must scale the model's inputs, the class names name its outputs (two
    names for one logistic output)."""
    from chainrule.train.runs import model_widths

    widths = _widths_told(model_widths, description)
    if widths is None:
        return
    n_in, n_out = widths
    names, scaler = description.get("class_names"), description.get("standardizer")
    if scaler and not len(scaler["mean"]) == len(scaler["std"]) == n_in:
        raise ModelFileError(
            f"{source}: field 'standardizer' scales {len(scaler['mean'])} means and "
            f"{len(scaler['std'])} deviations for {n_in} inputs"
        )
    if not names:
        return
    if len(names) != n_out and not (n_out == 1 and len(names) == 2):
        raise ModelFileError(
            f"{source}: field 'class_names' has {len(names)} names for {n_out} output units"
        )


def _widths_told(widths: Callable[[dict], Any], description: dict) -> Any:
    """``widths(description)`` (:func:`~chainrule.train.runs.model_widths` or
    ``told_output_width``), or None where the description cannot be read (a field missing or
    of another type): such an architecture is refused when the model is built, in its words."""
    try:
        return widths(description)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def build_model(description: dict, source: Path) -> Module:
    """Rebuild the (freshly initialised) module that ``description['architecture']`` describes.

    The initial weights the rebuild draws (loading replaces them) come from chainrule's default
    generator, whose state is put back after: loading a model or resuming a run changes no
    draw of the user's (``cr.randn`` after ``cr.manual_seed`` and a load is the seeded one)."""
    from chainrule import nn
    from chainrule.nn.module import ON_THE_COMMAND_LINE

    kind = _unregistered_type(description.get("architecture"))
    if kind is not None:  # a class of the user's own, not registered in this program
        raise ModelFileError(
            f"{source}: cannot rebuild the architecture: it holds a {kind!r} module, of a class "
            "not registered in this program; register the class with "
            f"@chainrule.nn.register_module in the program that loads the model "
            f"({ON_THE_COMMAND_LINE})"
        )
    try:
        with _draws_kept():
            model = nn.from_config(description["architecture"])
    except Exception as error:  # any failure here means the file describes no model we know
        raise ModelFileError(f"{source}: cannot rebuild the architecture ({error})") from None
    dtype = description.get("dtype")
    if dtype:  # every floating parameter and buffer, as Module.to made them before saving (a
        # module may make a float32 buffer beside layers built as float64)
        model.to(np.dtype(dtype))
    return model


def check_weights(model: Any, weights: Mapping[str, np.ndarray], source: Path) -> None:
    """Raise ModelFileError unless ``weights`` has the model's parameter names and shapes."""
    expected = {name: tuple(p.shape) for name, p in model.named_state()}
    for name, shape in expected.items():
        if name not in weights:
            raise ModelFileError(f"{source}: parameter {name!r} is missing (the architecture needs "
                                 f"shape {shape})")  # fmt: skip
        found = tuple(weights[name].shape)
        if found != shape:
            raise ModelFileError(
                f"{source}: parameter {name!r} has shape {found} but the architecture needs {shape}"
            )
    extra = sorted(set(weights) - set(expected))
    if extra:
        raise ModelFileError(
            f"{source}: unexpected parameter {extra[0]!r} (not in the architecture)"
        )


def load_model(
    path: str | os.PathLike, *, xp: Any = None, device: Any = None
) -> tuple[Any, dict[str, Any]]:
    """Load a model saved by :func:`save_model` (or a checkpoint's epoch directory).

    ``path`` is the model's directory or one of its two files; a training run's directory
    (what ``chainrule train --out`` wrote) stands for its ``model/``, as on the command line,
    and a checkpoint directory for its latest epoch (:func:`model_files`).

    Returns ``(model, info)`` where ``info`` is the parsed ``model.json`` (loss, standardizer,
    class_names, meta ...). The weights are read on the host (NumPy); ``xp`` and ``device``
    move them to an array library and device (as ``model.to(xp=..., device=...)``). A model
    saved from any library is written from a host copy of its weights, so files do not depend on
    the library or device that trained them. The parameters the file lists as ``frozen``
    (saved with ``requires_grad=False``) are frozen again. A float buffer (float32 or float64)
    keeps the dtype it was saved in, even where the rebuilt module makes it in the other one.
    Raises :class:`ModelFileError` for a missing directory or file, a JSON file that does not
    parse, a truncated or corrupt safetensors file, weights whose names or shapes do not match
    the architecture, a parameter stored in another dtype than the model's, or a ``frozen``
    name that is not a parameter.

    The model comes back in evaluation mode (``model.eval()``: dropout off), whatever mode it
    was saved in, for predicting and explaining. A :class:`~chainrule.train.Trainer`'s fit
    puts it in training mode itself; a training loop of your own must call ``model.train()``
    first, or it trains with dropout silently off.

    The model is the bare network: one trained on scaled inputs (a ``chainrule train`` run of a
    data file scales them by default) keeps its standardizer in ``info["standardizer"]`` (None
    where there was none), and :func:`chainrule.train.predict` or ``evaluate`` of raw rows
    gives wrong answers without a word. Scale the rows first, as ``chainrule predict`` does::

        net, info = cr.io.load_model("runs/iris")
        X = cr.data.load("iris.csv").X  # the rows as the file holds them
        if info["standardizer"] is not None:
            X = cr.data.Standardizer.from_state(info["standardizer"]).transform(X, info["dtype"])
        outputs = cr.train.predict(net, X)

    A save into the same directory while this reads it (a run's next checkpoint, a re-save)
    replaces the two files one after the other: a load that read one file of each save was
    refused as a damaged model ("holds other weights than model.json was saved with"). A
    refusal is taken as the answer only where the files are the ones it read; where a save
    replaced one meanwhile, the load reads them again.
    """
    for attempt in range(_LOAD_ATTEMPTS):
        read = _file_versions(path)
        try:
            return _load_model_once(Path(path), xp, device)
        except ModelFileError:
            if attempt == _LOAD_ATTEMPTS - 1 or _file_versions(path) == read:
                raise
    raise AssertionError("unreachable")


#: How often :func:`load_model` reads a model whose files a concurrent save kept replacing.
_LOAD_ATTEMPTS = 3


def _file_versions(path: str | os.PathLike) -> tuple | None:
    """Which versions of a model's two files ``path`` names now (a save renames new files into
    place: another inode), or None where they cannot be told."""
    try:
        files = model_files(path)
        return tuple((s.st_ino, s.st_mtime_ns, s.st_size) for s in map(os.stat, files))
    except (OSError, ModelFileError):  # the load names what is missing
        return None


def _load_model_once(path: Path, xp: Any, device: Any) -> tuple[Any, dict[str, Any]]:
    """:func:`load_model`'s one reading of the files."""
    if not path.exists():
        raise ModelFileError(f"{path}: no such model directory")
    if path.is_file() and path.name not in (MODEL_JSON, WEIGHTS_FILE):  # not "<parent>: ..."
        raise ModelFileError(
            f"{path}: is a file, not a model directory (a saved model is a directory holding "
            f"{MODEL_JSON} and {WEIGHTS_FILE}; a PyTorch state dict loads with "
            "chainrule.interop.load_torch, or explain --torch-model)"
        )
    json_path, weights_path = model_files(path)
    path = json_path.parent
    # a model.json that is a link in a loop is not missing: reading it says what it is
    if not json_path.exists() and not json_path.is_symlink():
        unfinished = unfinished_run(path)
        if unfinished is not None:  # a run directory, not the wrong path: say what to give
            raise ModelFileError(unfinished)
        raise ModelFileError(f"{path}: not a model directory ({MODEL_JSON} is missing)")
    description = read_model_description(json_path)
    check_layout(weights_path, CHAINRULE_LAYOUT, default=CHAINRULE_LAYOUT)
    shapes, dtypes = _array_shapes_and_dtypes(weights_path)
    check_claims(description, shapes, json_path, weights_path)
    model = build_model(description, json_path)  # an architecture's own error comes first
    _check_widths(description, json_path)
    _check_io_sizes(description, json_path)
    # from the header, before the digests: weights converted to another dtype (bfloat16,
    # which reading widens) are named so, not as changed bytes the advice to delete the
    # digest would then lead to this refusal
    _check_dtypes(model, dtypes, weights_path, json_path)
    # after the shapes' checks, which name what differs where another save's weights differ
    # in shape; before the arrays are read, which it spares
    metadata = read_metadata(weights_path)  # once, for the two checks that read it
    _check_saved_together(description, metadata, json_path, weights_path)
    weights = read_arrays(weights_path)
    _check_finite(weights, weights_path)  # names the array: said first where a NaN came in
    _check_unchanged(weights, description, metadata, weights_path)
    check_weights(model, weights, path / WEIGHTS_FILE)
    _check_written_by_chainrule(description, metadata, json_path, weights_path)
    _assign_parameters(model, weights)
    _freeze(model, description.get("frozen", []), json_path)
    model.eval()
    if xp is not None or device is not None:
        model.to(xp=xp, device=device)
    return model, description


def _check_saved_together(
    description: dict, metadata: Mapping[str, str], json_path: Path, weights_path: Path
) -> None:
    """Refuse weights of another save than their description's: a save killed between renaming
    the weights and the description over the old ones (:func:`_replace_model_files`) left the
    new weights beside the old model.json, whose standardizer and class names are another
    model's. Both files of a save record the weights' :data:`DIGEST_KEY`; the check compares
    the two records (the header is read anyway; :func:`_check_unchanged` hashes the weights
    once they are read), and a file without one (one from before the key, one no chainrule
    call wrote: see :func:`_check_written_by_chainrule`) is not checked."""
    recorded = description.get(DIGEST_KEY)
    held = metadata.get(DIGEST_KEY)
    if recorded is None or held is None or recorded == held:
        return
    raise ModelFileError(
        f"{weights_path}: holds other weights than {json_path.name} was saved with (their "
        f"{DIGEST_KEY} differ): a save into {json_path.parent} was killed between replacing the "
        f"two files, or one was copied from another save; save the model again (or, to load "
        f"these weights with this description all the same, delete the field {DIGEST_KEY!r} "
        f"from {json_path.name})"
    )


def _check_unchanged(
    weights: Mapping[str, np.ndarray],
    description: dict,
    metadata: Mapping[str, str],
    weights_path: Path,
) -> None:
    """Refuse weights whose bytes are not the ones their save recorded: a byte of the file
    changed on disk or in a copy, or an array edited and written back with the old metadata.
    Hashed where both files record the same :data:`DIGEST_KEY` (:func:`_check_saved_together`
    said the rest); the SHA-256 costs about a second per GB, beside reading it."""
    recorded = description.get(DIGEST_KEY)
    if recorded is None or metadata.get(DIGEST_KEY) != recorded:
        return
    remedy = (
        _resume_elsewhere(weights_path.parent)
        if is_checkpoint_dir(weights_path.parent)
        else f"save the model again (or, to load the weights as they are, delete the field "
        f"{DIGEST_KEY!r} from {MODEL_JSON})"
    )
    _check_digest(weights, recorded, weights_path, remedy)


def _resume_elsewhere(epoch_dir: Path) -> str:
    """What to do about a damaged file of the checkpoint ``epoch_dir``."""
    return f"resume from another checkpoint ({epoch_dir.parent} keeps the latest ones)"


def _check_digest(arrays: Mapping[str, np.ndarray], recorded: str, path: Path, remedy: str) -> None:
    """Raise ModelFileError where ``arrays`` (read from ``path``) hash to another digest than
    the ``recorded`` one, saying ``remedy``."""
    if _weights_digest(arrays) != recorded:
        raise ModelFileError(
            f"{path}: its arrays are not the ones saved (their SHA-256 differs from the "
            f"{DIGEST_KEY} recorded when it was written): the file was changed or damaged "
            f"since; {remedy}"
        )


def _check_written_by_chainrule(
    description: dict, metadata: Mapping[str, str], json_path: Path, weights_path: Path
) -> None:
    """Refuse a weights file with no chainrule metadata (PyTorch's ``save_file`` of a
    ``state_dict`` writes none) put over the one :func:`save_model` wrote beside
    ``json_path``, which records that one's digest: its square layers would load transposed
    without a word if it holds PyTorch's (out, in) weights. Checked after the shapes and
    dtypes, whose refusals say more where they differ."""
    if DIGEST_KEY not in description or file_layout(metadata) is not None:
        return
    raise ModelFileError(
        f"{weights_path}: was not written with {json_path.name} (it has no chainrule metadata, "
        f"and {json_path.name} records the digest of the weights saved with it): a PyTorch "
        f"state_dict saved over it holds (out, in) weights, which load with "
        f"chainrule.interop.load_torch; if it holds chainrule's (in, out) layout, delete the "
        f"field {DIGEST_KEY!r} from {json_path.name} to load it all the same"
    )


def model_files(path: str | os.PathLike) -> tuple[Path, Path]:
    """(model.json, model.safetensors) as :func:`load_model` reads them for ``path``: a model
    file stands for its directory, a training run's directory for its ``model/``, a checkpoint
    directory for its latest epoch. A command that writes a file must not write over these
    (``export --out``, ``predict --output``)."""
    path = Path(path)
    if path.is_file():
        path = path.parent  # accept model.json or model.safetensors itself
    path = _run_model_dir(path) or path
    path = _latest_epoch_dir(path) or path
    return path / MODEL_JSON, path / WEIGHTS_FILE


#: Where ``chainrule train`` saves the trained model inside a run directory (``--out``).
RUN_MODEL_DIR = "model"


def _run_model_dir(path: Path) -> Path | None:
    """The trained model of a training run's directory (its ``model/``, holding
    ``model.json``), or None where ``path`` is not one: a run directory stands for its model."""
    inner = path / RUN_MODEL_DIR
    return inner if (inner / MODEL_JSON).exists() else None


def unfinished_run(path: str | os.PathLike) -> str | None:
    """Why ``path`` does not load where it is a training run's directory whose training did not
    finish (no ``model/`` yet, but checkpoints), in the words that say what to give instead:
    its ``checkpoints/``, which load as their latest epoch, or the command that finishes it.
    None for any other path. :func:`load_model` says it ("not a model directory" made a run
    directory look like the wrong path), and so should every command that loads a model."""
    path = Path(path)
    if not path.is_dir() or (path / MODEL_JSON).exists() or _run_model_dir(path) is not None:
        return None
    try:
        latest = find_checkpoint(path / "checkpoints")
    except (ModelFileError, OSError):
        return None
    return (
        f"{path}: has no model/ (its training did not finish); give "
        f"{shlex.quote(str(path / 'checkpoints'))} for its latest checkpoint "
        f"({latest.name}), or finish it with chainrule train --resume {shlex.quote(str(path))}"
    )


def saved_loss(info: Mapping[str, Any], path: str | os.PathLike) -> Any:
    """The loss object a saved model's description ``info`` records (None if none), rebuilt;
    one it cannot rebuild (an unknown name, a bad option) is a :class:`ModelFileError` naming
    ``path``, the model the user gave."""
    from chainrule.nn.losses import loss_from_config

    if info.get("loss") == "function":  # a checkpoint written before a plain function's
        return None  # loss was stored as none: the model needs no loss
    try:
        return loss_from_config(info["loss"]) if info.get("loss") else None
    except UserError as error:
        try:  # the file and field that hold it (a name no chainrule loss has, as
            # load_model takes it: a loss of the user's own, or an older file's)
            where = f"; it is field 'loss' of {model_files(path)[0]}"
        except OSError:
            where = ""
        raise ModelFileError(f"{path}: cannot rebuild the loss ({error}){where}") from None


def _check_dtypes(model: Any, stored: Mapping[str, str], weights_path: str | os.PathLike,
                  json_path: Path) -> None:  # fmt: skip
    """Refuse weights stored in another dtype than the model the description builds (int32 or
    float16 arrays were cast into a float32 model without a word), by the dtypes the file's
    header gives (``stored``, :func:`_array_shapes_and_dtypes`): bfloat16, which reading widens
    to float32 exactly, went into a float32 model unseen and was named float32 where refused.
    A float buffer takes the float dtype it was saved in (:func:`_assign_parameters`): it is
    state a module made, which its constructor may make in another dtype than the one saved.
    A name the file lacks is left to :func:`check_weights`."""
    buffers = {name for name, _ in _saved_buffers(model)}
    floats = {"float32", "float64"}
    for name, p in model.named_state():
        wanted = backend.dtype_name(p.dtype)
        found = stored.get(name)
        if found is None or found == wanted or (name in buffers and {found, wanted} <= floats):
            continue
        raise ModelFileError(
            f"{weights_path}: parameter {name!r} is stored as {found} but {json_path.name} "
            f"describes a {wanted} model"
        )


def _freeze(model: Any, names: list[str], source: Path) -> None:
    """The parameters saved frozen (``requires_grad=False``) frozen again: fine-tuning a loaded
    model changed the layer its user had frozen."""
    parameters = dict(model.named_parameters())
    for name in names:
        if name not in parameters:
            raise ModelFileError(f"{source}: field 'frozen': {name!r} is not a parameter")
        parameters[name].requires_grad_(False)


def _assign_parameters(model: Any, weights: Mapping[str, np.ndarray]) -> None:
    """Copy ``weights`` into the model's parameters in place, in each parameter's dtype; a
    float buffer saved in the other float dtype is replaced by one of the saved dtype."""
    modules = dict(model.named_modules(remove_duplicate=False))
    buffers = {name for name, _ in _saved_buffers(model)}
    for name, p in model.named_state():
        stored = weights[name]
        if name in buffers and stored.dtype.name != backend.dtype_name(p.dtype):
            owner, _, attribute = name.rpartition(".")
            value = backend.asarray_like(stored, p.data, stored.dtype)
            if isinstance(modules[owner]._buffers[attribute], Tensor):
                value = Tensor._wrap(value)
            setattr(modules[owner], attribute, value)
            continue
        # In place, so that anything holding the parameter (an optimizer) sees the new values.
        backend.write(p, backend.asarray_like(stored, p.data, dtype=p.data.dtype))


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


def read_trainer_state(path: str | os.PathLike) -> dict:
    """``trainer.json`` parsed and checked against its schema
    (:class:`chainrule.file_schemas.TrainerState`), one ModelFileError line naming the field."""
    from chainrule.file_schemas import TrainerState, check_version, validate_file
    from chainrule.train.trainer import CHECKPOINT_VERSION

    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ModelFileError(f"{path}: not a chainrule checkpoint")
    # none (a checkpoint written before the field): 1, as the schema's default
    check_version(data, path, CHECKPOINT_VERSION, "checkpoint")
    state = validate_file(TrainerState, data, path, "checkpoint")
    _check_history_ends_at_epoch(state, path)
    _check_callback_epochs_reached(state, path)
    return state


def _check_history_ends_at_epoch(state: dict, path: Path) -> None:
    """Refuse a ``history`` that is not the record of the epochs ending at ``epoch``: a run
    resumed from it went on counting from ``epoch`` beside a history of other epochs (epoch 5
    beside 3 records gave a history whose numbers skipped). It may be empty (the field is
    optional) or start later (a run resumed from a checkpoint without one records only its own
    epochs). Each record has its number: the schema wants one
    (:class:`~chainrule.file_schemas.HistoryRecord`), as ``plot_history`` draws by it."""
    history, epoch = state.get("history") or [], state["epoch"]
    if len(history) > epoch:
        raise ModelFileError(
            f"{path}: field 'history' records {len(history)} epochs, but field 'epoch' says "
            f"the run has trained {epoch}"
        )
    first = epoch - len(history) + 1
    for place, (record, expected) in enumerate(zip(history, range(first, epoch + 1))):
        number = record["epoch"]
        if number != expected:
            raise ModelFileError(
                f"{path}: field 'history[{place}].epoch' is {number!r}, but field 'epoch' is "
                f"{epoch}: its {len(history)} records must be those of epochs {first} to {epoch}"
            )


def _check_callback_epochs_reached(state: dict, path: Path) -> None:
    """Refuse a callback's state that names an epoch after ``epoch`` (early stopping's
    ``best_epoch``, ``stopped_epoch``, ``last_epoch``): the run has not reached it (a best epoch
    99 of a run at epoch 2 was restored as the best)."""
    for key, scalars in state.get("callbacks", {}).items():
        for name, value in scalars.items():
            if name.endswith("_epoch") and type(value) is int and value > state["epoch"]:
                raise ModelFileError(
                    f"{path}: field 'callbacks.{key}.{name}' is {value}, after field 'epoch', "
                    f"{state['epoch']}: the run has not reached it"
                )


def _numbered_epoch_dirs(directory: Path) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of everything under ``directory`` named as an epoch directory
    (``epoch-NNNNNN``), complete or not, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for child in directory.iterdir():
        number = child.name[len(_EPOCH_PREFIX) :]
        if child.name.startswith(_EPOCH_PREFIX) and number.isdigit():
            found.append((int(number), child))
    return sorted(found)


def _epoch_dirs(directory: Path) -> list[Path]:
    """The complete epoch directories under ``directory``, oldest first."""
    return [child for _, child in _numbered_epoch_dirs(directory) if is_checkpoint_dir(child)]


def incomplete_checkpoints(directory: str | os.PathLike, epoch: int) -> list[Path]:
    """Directories under ``directory`` named as epochs after ``epoch`` that hold no trainer
    state (damaged, or copied in part), oldest first: :func:`find_checkpoint` passes over them
    to an earlier complete epoch, which a command resuming says (``chainrule train
    --resume``), and a resumed run's save of that epoch replaces them."""
    return [
        child
        for number, child in _numbered_epoch_dirs(Path(directory))
        if number > epoch and child.is_dir() and not is_checkpoint_dir(child)
    ]


def is_checkpoint_dir(directory: Path) -> bool:
    """Whether ``directory`` is one saved epoch of a checkpoint (``epoch-NNNNNN/`` holding its
    trainer state): what ``--resume`` reads, so no command's output may be written into it."""
    name = directory.name
    return (
        name.startswith(_EPOCH_PREFIX)
        and name[len(_EPOCH_PREFIX) :].isdigit()
        and (directory / TRAINER_JSON).exists()
    )


def _latest_epoch_dir(directory: Path) -> Path | None:
    dirs = _epoch_dirs(directory)
    return dirs[-1] if dirs else None


def find_checkpoint(path: str | os.PathLike) -> Path:
    """The epoch directory to resume from: ``path`` itself, or the latest one inside it.

    ``path`` may be an epoch directory, a checkpoint directory holding epoch directories, or a run
    directory holding ``checkpoints/``.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such checkpoint")
    if (path / TRAINER_JSON).exists():
        return path
    for candidate in (path, path / "checkpoints"):
        latest = _latest_epoch_dir(candidate)
        if latest is not None:
            return latest
    raise ModelFileError(
        f"{path}: no complete checkpoint found (no {_EPOCH_PREFIX}*/{TRAINER_JSON})"
    )


def checkpoint_directory(path: str | os.PathLike) -> Path:
    """``path`` as a directory to save checkpoints in, refused with a :class:`UserError` naming
    the file where a file stands in the way (``path`` itself or a parent): mkdir's bare
    FileExistsError came at the first save, after an epoch's work (a ``Trainer`` asks this when
    it is made)."""
    path = Path(path)
    blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(
            f"checkpoint_dir {str(path)!r}: {str(blocking)!r} is a file, not a directory; "
            "name a directory for the checkpoints"
        )
    return path


def checkpoint_description(trainer: Any, directory: Path, meta: dict | None = None) -> dict:
    """The model.json of ``trainer``'s checkpoints in ``directory``, refused as
    :func:`load_model` would refuse it (class names not one per output, a standardizer of
    another width), as :func:`save_model` refuses it (cross-entropy over one output unit, a
    parameter of another dtype than its layer's, as a float64 pruning mask makes one) or
    as JSON cannot hold it (``meta`` holding a set): the Trainer asks
    this when it is made and at the start of each fit, not at its first checkpoint."""
    # a parameter made float64 by a float64 mask (pruning): every epoch was written, and the
    # resume, load_model and `chainrule predict` refused them all ("stored as float32"); first,
    # as save_model checks it: the description's schema refused a float16 model as a field
    _check_parameter_dtypes(trainer.model, directory)
    description = model_description(
        trainer.model,
        loss=trainer.loss,
        standardizer=trainer.standardizer,
        class_names=trainer.class_names,
        meta=meta if meta is not None else trainer.meta,
    )
    _check_description(description, directory)  # a checkpoint that would not load: none
    _check_loss_fits(trainer.loss, description, f"checkpoints in {directory}")
    _check_configs_rebuild(trainer.model, directory)
    # a shared layer the file could not hold: refused now, not after checkpoint_every epochs
    names = dict.fromkeys(name for name, _ in trainer.model.named_state())
    _check_sharing_survives(trainer.model, description, names, directory)
    json_text(description)  # a TypeError naming what JSON cannot hold
    return description


def save_checkpoint(
    directory: str | os.PathLike,
    trainer: Any,
    *,
    keep: int = 2,
    meta: dict | None = None,
) -> Path:
    """Write the trainer's complete state as ``directory/epoch-NNNNNN/``, atomically.

    The epoch directory is built under a temporary name and renamed into place when every file
    is on disk; then all but the newest ``keep`` epoch directories are removed. The one written
    is the newest: epoch directories numbered after it (the later epochs of a run this trainer
    was resumed from an earlier checkpoint of, see :func:`newer_checkpoints`) are removed
    first, so the directory's latest checkpoint is always the trainer's last state. ``meta``
    (JSON, as :func:`save_model` takes it) is stored with the model description, e.g. the
    command line that started the run.
    """
    directory = checkpoint_directory(directory)
    target = directory / f"{_EPOCH_PREFIX}{trainer.epoch:06d}"
    description = checkpoint_description(trainer, directory, meta)
    weights = model_weights(trainer.model)  # (checkpoint_description checked the sharing)
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(directory)
    state_json, state_arrays = trainer.state()
    tmp = staging_dir(target)
    # the same epoch saved twice (a resumed run's first save, a save after fit): the complete
    # one already there is moved aside, not deleted, until the new one has its name
    try:
        _write_model_files(tmp, weights, description)
        state_arrays = {name: to_numpy(array) for name, array in state_arrays.items()}
        write_arrays(
            tmp / OPTIMIZER_FILE, state_arrays, {DIGEST_KEY: _weights_digest(state_arrays)}
        )
        atomic_write_json(tmp / TRAINER_JSON, {"format": CHECKPOINT_FORMAT, **state_json})
        replace_dir(tmp, target)  # puts the old one back where the renames fail
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_newer_checkpoints(directory, trainer.epoch)  # never the latest again
    for old in _epoch_dirs(directory)[:-keep] if keep > 0 else []:
        _remove_epoch_dir(old)
    return target


def newer_checkpoints(directory: str | os.PathLike, epoch: int) -> list[Path]:
    """The complete epoch directories under ``directory`` numbered after ``epoch``, oldest
    first: what :func:`save_checkpoint` of a trainer at ``epoch`` removes (they belong to the
    later epochs of a run resumed from an earlier checkpoint)."""
    return [
        child
        for child in _epoch_dirs(Path(directory))
        if int(child.name[len(_EPOCH_PREFIX) :]) > epoch
    ]


def remove_newer_checkpoints(directory: str | os.PathLike, epoch: int) -> None:
    """Remove :func:`newer_checkpoints`: the checkpoint of ``epoch`` becomes the latest, as
    :func:`save_checkpoint` makes the one it writes (a run resumed from it with nothing left
    to train saves none)."""
    for newer in newer_checkpoints(directory, epoch):
        _remove_epoch_dir(newer)


def _remove_epoch_dir(path: Path) -> None:
    """Delete a saved epoch: renamed to a temporary name first (one rename), then removed, so
    that a process killed partway through the removal (a second Ctrl-C, SIGKILL) leaves no
    directory under an epoch's name that holds trainer.json without the rest, which reads as
    complete (:func:`is_checkpoint_dir`) and which ``--resume DIR`` would pick and refuse, nor
    one without trainer.json that no later save prunes. The next save removes the leftover
    (:func:`_remove_stale_temporaries`)."""
    doomed = path.with_name(f"{TMP_PREFIX}{path.name}.{os.urandom(4).hex()}")
    try:
        os.rename(path, doomed)
    except OSError:  # gone meanwhile, or not to be renamed: removed where it is
        doomed = path
    shutil.rmtree(doomed, ignore_errors=True)


def _remove_stale_temporaries(directory: Path) -> None:
    """Delete half-written epoch directories left by a process that was killed mid-save, and
    put back a complete one it had moved aside and not yet replaced. The checkpoint directory
    is chainrule's own, so every temporary name in it (:data:`TMP_PREFIX`) is a leftover."""
    for child in directory.iterdir():
        if child.name.startswith(ASIDE_PREFIX):  # an epoch directory a save moved aside
            restore_replaced(child.with_name(child.name[len(ASIDE_PREFIX) :]))
            continue
        if child.name.startswith(TMP_PREFIX):
            _remove_temporary(child)


def _remove_temporary(path: Path) -> None:
    """Delete a temporary folder with what it holds, or a temporary file (a link itself, not
    what it points to), as far as possible: a leftover that cannot go is no reason to fail."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


#: The random part ``tempfile`` adds to a temporary name (eight of these characters).
_TEMPFILE_RANDOM = "[a-z0-9_]{8}"


def _staging_leftovers(directory: Path, destinations: Sequence[str]) -> list[Path]:
    """What chainrule's atomic writes to ``destinations`` (names in ``directory``) left there
    when killed midway: a name made of the destination's temporary prefix
    (:func:`chainrule.files.staging_dir`, :func:`chainrule.files.atomic_write_bytes`) and
    tempfile's random part, exactly; nothing else is ever matched (``.tmp-model.json.old``, a
    user's ``.tmp-notes``, the staging of a destination named ``model.json.v2``)."""
    pattern = "|".join(
        re.escape(_temporary_prefix(name)) + _TEMPFILE_RANDOM for name in destinations
    )
    try:
        children = list(directory.iterdir())
    except OSError:  # no such directory yet, or not one to read: nothing left there
        return []
    return [child for child in children if re.fullmatch(pattern, child.name)]


#: How long a staging folder of a save must have gone unwritten before a later save takes it
#: for a killed save's leftover: a younger one may be another process's save in progress (every
#: rank of a job saving to one path), which removing it would break.
STALE_STAGING_SECONDS = 3600


def _remove_staging_leftovers(path: Path) -> None:
    """Remove what a save to the model directory ``path`` killed midway (SIGKILL, a power cut)
    left: the staging folder beside it of a new directory (``.tmp-<name>.XXXXXXXX``), and in it
    the staging folder of its two files (``.tmp-model.json.XXXXXXXX``, holding a full-size
    ``.tmp-model.safetensors.YYYYYYYY``), which no later save removed. Only chainrule's own
    temporary names for these destinations are removed, and only once nothing has been written
    anywhere in them (nested folders too) for :data:`STALE_STAGING_SECONDS`."""
    leftovers = _staging_leftovers(path.parent, [path.name])
    if path.is_dir():
        leftovers += _staging_leftovers(path, [MODEL_JSON, WEIGHTS_FILE])
    for leftover in leftovers:
        if _unwritten_for(leftover, STALE_STAGING_SECONDS):
            _remove_temporary(leftover)


def _unwritten_for(path: Path, seconds: float) -> bool:
    """Whether ``path`` and everything under it, however deep, have gone unmodified for
    ``seconds``: a save in progress keeps the times of the files it writes current, and one
    writing into a nested folder touches neither the staging folder nor its direct children.
    Links are not followed (their own time counts); an entry removed during the walk is
    skipped, and a folder that cannot be read keeps the whole (its age is unknown)."""
    try:
        info = path.lstat()
    except OSError:  # gone meanwhile (its save finished or removed it): nothing to remove
        return False
    newest = info.st_mtime
    folders = [path] if stat.S_ISDIR(info.st_mode) else []
    while folders:  # iterative: a deep tree is no RecursionError
        if time.time() - newest < seconds:  # written lately: no need to look further
            return False
        try:
            newest = max(newest, _newest_entry(folders.pop(), folders))
        except (FileNotFoundError, NotADirectoryError):  # removed or replaced meanwhile
            continue
        except OSError:
            return False
    return time.time() - newest >= seconds


def _newest_entry(folder: str | Path, folders: list) -> float:
    """The newest modification time among ``folder``'s entries (-inf for none), each read
    without following a link; the folders among them are added to ``folders`` to walk."""
    newest = -math.inf
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed since the folder was listed
                continue
            newest = max(newest, info.st_mtime)
            if stat.S_ISDIR(info.st_mode):
                folders.append(entry.path)
    return newest


def load_checkpoint(path: str | os.PathLike, *, xp: Any = None, device: Any = None) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns a dict with ``model`` (rebuilt, weights loaded; on array library ``xp`` and
    ``device`` when given, as in :func:`load_model`), ``model_info`` (the model.json
    description), ``state`` (trainer.json), ``arrays`` (optimizer and callback buffers),
    ``stored_dtypes`` (each of ``arrays``' dtype as the file stores it, by NumPy's name:
    ``bfloat16`` for an array reading widened to float32) and ``path`` (the epoch directory).
    Pass it to ``Trainer.load_state`` to continue training (``Trainer.resume(path)`` reads and
    loads it in one call).
    """
    epoch_dir = find_checkpoint(path)
    model, info = load_model(epoch_dir, xp=xp, device=device)
    state = read_trainer_state(epoch_dir / TRAINER_JSON)
    # the header read once, for the layout's check, the dtypes' and the digest
    arrays, metadata, header = _read_arrays_in(epoch_dir / OPTIMIZER_FILE, CHAINRULE_LAYOUT)
    _check_buffer_dtypes(model, info, header, epoch_dir / OPTIMIZER_FILE)  # before the digest
    recorded = metadata.get(DIGEST_KEY)
    if recorded is not None:  # a checkpoint written before the digest has none
        _check_digest(arrays, recorded, epoch_dir / OPTIMIZER_FILE, _resume_elsewhere(epoch_dir))
    stored = {name: _stored_dtype(header[name]) for name in arrays}
    return {"model": model, "model_info": info, "state": state, "arrays": arrays,
            "stored_dtypes": stored, "path": epoch_dir}  # fmt: skip


def _stored_dtype(entry: Mapping[str, Any]) -> str:
    """The dtype of a safetensors header's entry (one the file was read by), by NumPy's name:
    ``bfloat16`` too, which reading widens to float32, the dtype a check must name."""
    kind = entry["dtype"]
    return _STORED_DTYPES.get(kind, str(kind).lower())


def check_kept_weights_dtypes(
    checkpoint_model: Any,
    weights: Mapping[str, np.ndarray],
    stored: Mapping[str, str],
    source: str | os.PathLike,
) -> None:
    """Refuse weights a checkpoint keeps beside its model (early stopping's best and last
    epoch's, in its optimizer.safetensors) stored in another dtype than the checkpoint's model
    has them in (``checkpoint_model``, as :func:`load_checkpoint` built it from model.json), as
    :func:`load_model` refuses the model's own weights (:func:`_check_dtypes`, its words,
    naming ``source``) and :func:`load_checkpoint` the optimizer's buffers: float16 or bfloat16
    (read widened to float32) in a float32 run, float32 in a float64 one, went in cast without
    a word. ``stored`` gives each weight's dtype as the file stores it, by the weights' names
    (:func:`load_checkpoint`'s ``stored_dtypes``); a weight it lacks, or whose array has been
    changed since it was read, is taken in its array's dtype. Names and shapes are
    :func:`check_weights`'."""
    found = {}
    for name, array in weights.items():
        own = backend.dtype_name(array.dtype)
        file = stored.get(name)
        widened = file == "bfloat16" and own == "float32"  # as reading gives it
        found[name] = file if file == own or widened else own
    _check_dtypes(checkpoint_model, found, source, Path(MODEL_JSON))


def _check_buffer_dtypes(model: Any, info: Mapping[str, Any], header: dict, path: Path) -> None:
    """Refuse an optimizer buffer of ``path`` (``optimizer/<buffer>.<i>``) stored in another
    float dtype than the checkpoint's model, as :func:`load_model` refuses its weights: the
    optimizer casts what it loads to its parameters' dtype, so float64 momentum in a float32
    run, float16 or bfloat16 (read widened) went in without a word, and float32 buffers of a
    float64 model lost their precision. From the header, before the file's digest is checked
    (converted arrays are named as such, not as damaged ones). In a model that mixes float32
    and float64 layers (model.json's ``dtype`` null) a buffer may be either; the step counts,
    and a buffer of integers (an optimizer of one's own may keep counts), are left to the
    optimizer's own checks."""
    wanted = info.get("dtype")
    allowed = {wanted} if wanted else {backend.dtype_name(p.dtype) for p in model.parameters()}
    for key, entry in sorted(header.items()):
        name = key.rpartition(".")[0]
        if not name.startswith("optimizer/") or name == "optimizer/step":
            continue
        stored = _stored_dtype(entry)  # the file was read, so every entry has one
        if stored in _STORED_FLOATS and stored not in allowed:
            described = (
                f"a {wanted} model"
                if wanted
                else "a model of " + " and ".join(sorted(allowed)) + " layers"
            )
            raise ModelFileError(
                f"{path}: optimizer buffer {key!r} is stored as {stored} but the checkpoint's "
                f"{MODEL_JSON} describes {described}; {_resume_elsewhere(path.parent)}"
            )
