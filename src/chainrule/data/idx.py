"""IDX files: the format of MNIST, Fashion-MNIST, KMNIST and many USPS conversions.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian
uint32 dimensions, then the values in row-major, big-endian order. Files may be gzip-compressed
(``.gz``). Everything is checked before the data is trusted: the magic number, the dtype code,
the dimensions and that the file length matches them exactly (so a truncated download is caught).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from chainrule.checks import first_non_finite
from chainrule.data.csvfile import _column_name
from chainrule.data.dataset import Dataset, check_float_dtype
from chainrule.errors import DataError
from chainrule.files import atomic_write_bytes

# dtype code -> big-endian NumPy dtype, as in LeCun's description of the format.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path: Path, head: bytes) -> bool:
    """Whether a file is gzip: by its name, or by ``head``, its first two bytes."""
    return path.suffix == ".gz" or head == _GZIP_MAGIC


@contextmanager
def _inflated(path: Path) -> Iterator[tuple[BinaryIO, int | None]]:
    """``path`` opened once to read its bytes as a stream, and its size: gunzipped as they are
    read if it is gzip (a GzipFile over the open file: its compressed bytes are never held
    whole), its size then None (the compressed size says nothing of what it holds)."""
    with path.open("rb") as handle:
        zipped = _is_gzip(path, handle.read(2))
        handle.seek(0)
        if not zipped:
            yield handle, os.fstat(handle.fileno()).st_size
            return
        with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
            yield stream, None


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A file that is missing or cannot be read, or a truncated or corrupt gzip stream, as a
    DataError naming the file."""
    try:
        yield
    except FileNotFoundError as error:
        raise DataError(f"{path}: no such IDX file") from error
    except (OSError, EOFError, zlib.error) as error:  # gzip's truncated or corrupt stream
        if path.is_dir():  # "Is a directory" (on Windows "Permission denied") says too little
            raise DataError(_not_a_file(path)) from error
        reason = getattr(error, "strerror", None) or error
        raise DataError(f"{path}: cannot read IDX file ({reason})") from error


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (optionally ``.gz``), in native byte order.

    >>> images = read_idx("train-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape, images.dtype                         # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    path = Path(path)
    with _reading(path):
        raw, length = _idx_bytes(path)
    dtype, dims, header = _parse_header(raw, path)
    expected = _needed(dtype, dims, header)
    if length != expected:
        what = "truncated" if length is not None and length < expected else "has trailing bytes"
        has = "more once gunzipped" if length is None else length
        raise DataError(
            f"{path}: IDX file {what}: dimensions {dims} of {dtype.newbyteorder('=').name} "
            f"need {expected} bytes, the file has {has}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # a copy: ``raw``'s buffer is not kept


def _parse_header(raw: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """The big-endian dtype, the dimensions and the header's length in bytes of an IDX file
    that starts with ``raw``; DataError for a bad magic number or a header cut short."""
    if len(raw) < 4:
        raise DataError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    zero0, zero1, code, ndim = raw[:4]
    if zero0 != 0 or zero1 != 0 or code not in IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()} "
            "(expected 0x0000 then a dtype code 08/09/0b/0c/0d/0e and the number of dimensions)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return IDX_DTYPES[code], dims, header


def _read_header(path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """An IDX file's native dtype and dimensions from its first bytes alone (a .gz file is
    inflated only that far); DataError as :func:`read_idx` gives it for a bad header."""
    with _reading(path), _inflated(path) as (stream, _):
        raw = _header_bytes(stream)
    dtype, dims, _ = _parse_header(raw, path)
    return dtype.newbyteorder("="), dims


def _header_bytes(stream: BinaryIO) -> bytes:
    """An IDX stream's first bytes, as far as its header goes: the magic number and, after it,
    as many dimensions as it names (fewer where the stream ends first)."""
    raw = stream.read(4)
    return raw + (stream.read(4 * raw[3]) if len(raw) == 4 else b"")


#: How much of an IDX stream is read (inflated) at a time.
_CHUNK = 1 << 20


def _chunks(stream: BinaryIO, length: int) -> Iterator[bytes]:
    """``stream``'s next ``length`` bytes (fewer where it ends first), a chunk at a time: a
    header's claim is never allocated at once (a 16-byte file may claim terabytes), and no more
    is read (inflated) than it claims."""
    while length > 0 and (chunk := stream.read(min(_CHUNK, length))):
        length -= len(chunk)
        yield chunk


def _needed(dtype: np.dtype, dims: tuple[int, ...], header: int) -> int:
    """How many bytes an IDX file of this header holds in all (Python ints: no overflow)."""
    return header + math.prod(dims) * dtype.itemsize


def _idx_bytes(path: Path) -> tuple[bytes | bytearray, int | None]:
    """An IDX file's bytes (gunzipped), and the file's length: no more than its header needs
    are read, and one byte past them, a chunk at a time, so that what is held is bounded by
    the header's claim. A plain file is read only where its size is that need (its length is
    its size); a .gz file is inflated as it is read from the open file (its compressed bytes
    are never held whole) up to that byte, its length None where it runs past it: the rest is
    never inflated (a gzip bomb's gigabytes of zeros). DataError for a bad header; OSError,
    EOFError or zlib.error as :func:`_reading` names them."""
    with _inflated(path) as (stream, size):
        head = _header_bytes(stream)
        need = _needed(*_parse_header(head, path))
        if size is not None and size != need:  # a plain file of another length: not read
            return head, size
        raw = bytearray(head)
        for chunk in _chunks(stream, need + 1 - len(raw)):
            raw += chunk
    return raw, len(raw) if len(raw) <= need else None


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``), atomically."""
    path = Path(path)
    array = np.asarray(array)
    if array.ndim == 0:  # the header would say 0 dimensions, which read_idx rightly refuses
        raise DataError(
            f"{path}: IDX needs an array of at least one dimension, got a 0-d array (a scalar); "
            "nothing was written"
        )
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        storable = ", ".join(dtype.newbyteorder("=").name for dtype in IDX_DTYPES.values())
        raise DataError(
            f"{path}: IDX cannot store dtype {array.dtype}, only {storable}; convert the array "
            "first (array.astype(np.uint8) for 8-bit pixels); nothing was written"
        )
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(IDX_DTYPES[code]).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload)
    atomic_write_bytes(path, payload)


def scale_images(
    images: np.ndarray,
    dtype: Any = np.float32,
    others: Sequence[np.ndarray] = (),
    pixel_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Pixel values as floats in [0, 1], the values keeping their order and spacing.

    uint8 (MNIST) is divided by 255, and so is any other integer array whose values all lie in
    0..255 (8-bit pixels stored in a wider type); other integer arrays are mapped linearly from
    their min..max onto [0, 1]. Float arrays already in [0, 1] are kept as they are; other
    float arrays (USPS conversions in [-1, 1], say) are mapped linearly from their min..max.
    An array to be mapped whose values are all equal (no range to map) becomes all zeros; an
    empty array stays empty.

    ``others``: the same dataset's other image arrays (the test part beside the train part).
    Which rule applies and the min..max are read from all of them, so that every part is mapped
    the same way: mapped each from its own range, a pixel value would mean one thing in the
    training images and another in the test images.

    ``pixel_range``: the (low, high) to map from instead (:func:`pixel_range_of`'s, recorded
    when a model's training images were scaled), so that other images are mapped as those were.
    """
    images = np.asarray(images)
    if images.size == 0:  # no min or max to scale by, and nothing to scale
        return images.astype(dtype)
    if pixel_range is None:
        pixel_range = pixel_range_of(images, others)
    else:
        _check_finite(images)
    low, high = pixel_range
    # (x - 0) / 255 and (x - 0) / 1 are x / 255 and x exactly: every rule is this one map
    return _min_max(images.astype(np.float64), low, high).astype(dtype)


def pixel_range_of(images: np.ndarray, others: Sequence[np.ndarray] = ()) -> tuple[float, float]:
    """The values :func:`scale_images` maps onto 0 and 1: (0, 255) for 8-bit integer pixels,
    (0, 1) for floats already in [0, 1], else the images' min and max (``others``' too)."""
    images = np.asarray(images)
    _check_finite(images)
    low, high = _range([images, *others])
    if np.issubdtype(images.dtype, np.integer):
        # Not the dtype's range: int32 pixels 0..255 would all land on 0.5 and vanish.
        if low >= 0 and high <= 255:
            return 0.0, 255.0
    elif low >= 0.0 and high <= 1.0:
        return 0.0, 1.0
    return low, high


def _check_finite(images: np.ndarray) -> None:
    """Refuse images with a NaN or infinite pixel, naming the first (counted from 1)."""
    if np.issubdtype(images.dtype, np.integer):
        return
    found = first_non_finite(images)
    if found is None:
        return
    case, *pixel = found
    at = ", ".join(str(k + 1) for k in pixel)
    where = f"image {case + 1}, pixel ({at})" if pixel else f"value {case + 1}"  # 1-D: no pixel
    raise DataError(f"IDX {where} is {images[found]}: pixels must be finite numbers")


#: How far outside [0, 1] a scaled pixel written out as text may lie (its rounding).
_SCALED_SLACK = 1e-6


def check_rows_scaled(
    rows: np.ndarray,
    pixel_range: Sequence[float],
    source: str,
    lines: Sequence[int] | None = None,
    names: list[str] | None = None,
) -> None:
    """Refuse table rows for a model trained on images (IDX, the digits) unless they are scaled
    as its images were: mapped from ``pixel_range`` (the training images' low..high) onto
    [0, 1]. Raw pixels (0..255) given as they are would drive every unit far past where it was
    trained and give a confident, silently wrong prediction. ``lines``: each row's line in
    ``source`` (else the message counts rows); ``names``: its header's name of each column,
    named in the message as a CSV file's cells are ("column 6 ('p5')")."""
    rows = np.asarray(rows)
    outside = (rows < -_SCALED_SLACK) | (rows > 1 + _SCALED_SLACK)
    if rows.size == 0 or not outside.any():
        return
    row, column = (int(k) for k in np.argwhere(outside)[0])
    low, high = (float(v) for v in pixel_range)
    where = f"line {lines[row]}" if lines is not None else f"row {row + 1}"
    shifted = f"pixel - {low:g}" if low >= 0 else f"pixel + {-low:g}"
    raise DataError(
        f"{source}: {where}, {_column_name(names, column)}: {rows[row, column]:g} is outside "
        f"[0, 1], but this model was trained on images whose pixels were mapped from "
        f"{low:g}..{high:g} onto [0, 1]; give each input as ({shifted}) / {high - low:g}"
    )


def _check_within(
    images: np.ndarray, pixel_range: Sequence[float], source: Path, training: Path | None = None
) -> None:
    """Refuse images with a pixel outside the ``pixel_range`` a model's training images were
    mapped from: they are on another scale (float pixels in -1..1 for a model trained on
    0..255), and mapped alike they would land far outside [0, 1], silently. Float images
    already in [0, 1] for a model of 8-bit pixels lie inside its range but would all be
    near-black: refused too. ``training``: the training images' file when the range is that
    of the same directory's training part (a t10k part loaded for training), not a model's."""
    low, high = (float(v) for v in pixel_range)
    if training is None:
        theirs, trained = "the model's", "the images this model was trained on"
    else:
        theirs = f"the training images' ({training.name})"
        trained = f"the training images ({training.name})"
    own = pixel_range_of(images)
    if (own, (low, high)) == ((0.0, 1.0), (0.0, 255.0)):  # inside 0..255, but near-black
        raise DataError(
            f"{source}: these images' pixels run {own[0]:g}..{own[1]:g}, {theirs} ran "
            f"{low:g}..{high:g}: they are on another scale; map them onto {low:g}..{high:g} first"
        )
    slack = _SCALED_SLACK * (high - low)
    outside = (images < low - slack) | (images > high + slack)
    if not outside.any():
        return
    case, *pixel = (int(k) for k in np.argwhere(outside)[0])
    at = ", ".join(str(k + 1) for k in pixel)
    raise DataError(
        f"{source}: image {case + 1}, pixel ({at}) is {images[(case, *pixel)]:g}, outside "
        f"{low:g}..{high:g}, the pixels of {trained}; these images are on another scale: map "
        f"them onto {low:g}..{high:g} first"
    )


def _range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    """The smallest and largest value of the arrays that hold finite values (a part that holds
    NaN is refused when it is loaded itself, not when its neighbour is)."""
    usable = [a for a in map(np.asarray, arrays) if a.size and np.all(np.isfinite(a))]
    return min(float(a.min()) for a in usable), max(float(a.max()) for a in usable)


def _min_max(images: np.ndarray, low: float, high: float) -> np.ndarray:
    """``images`` (float64, not empty) mapped linearly from low..high onto [0, 1]."""
    if high == low:  # a constant array: dividing by 0 would make every pixel NaN
        return np.zeros_like(images)
    return (images - low) / (high - low)


_PAIR = re.compile(
    r"^(?P<part>.*?)[-_.]?(?P<kind>images|labels)[-_.]idx(?P<ndim>\d)[-_.]ubyte(\.gz)?$"
)


def find_idx_pairs(directory: str | os.PathLike) -> dict[str, tuple[Path, Path]]:
    """Image/label file pairs in ``directory`` keyed by their prefix ("train", "t10k", ...).

    Recognises the usual names: ``train-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
    ``train-images.idx3-ubyte`` and the same with ``.gz``. Where two files name the same part
    and kind (a file beside its ``.gz``), the first by name is used, and they must hold the
    same data: an older download beside a newer one is refused, naming both.
    """
    found: dict[str, dict[str, Path]] = {}
    for entry, match in _idx_entries(Path(directory)):
        if not entry.is_file():
            continue
        chosen = found.setdefault(match["part"], {}).setdefault(match["kind"], entry)
        if chosen is not entry and not _same_data(chosen, entry):
            raise DataError(
                f"{chosen} and {entry.name} both hold the {match['part']} {match['kind']} but "
                "their data differ (an older download beside a newer one?): remove the one "
                "you do not mean"
            )
    return {
        part: (files["images"], files["labels"])
        for part, files in found.items()
        if "images" in files and "labels" in files
    }


def _same_data(first: Path, second: Path) -> bool:
    """Whether two IDX files (each plain or gzip) hold the same bytes once gunzipped."""
    return _digest(first) == _digest(second)


def _digest(path: Path) -> str:
    """The SHA-256 of a file's (gunzipped) bytes as :func:`read_idx` reads them: its header's
    need and one byte past (a file that holds more is refused when it is read, and differs
    from one that holds no more: its extra byte is hashed too), or for a bad header the header
    alone (refused when it is read). Hashed a chunk at a time as it is inflated, never held,
    and a gzip bomb's gigabytes past its header's need are never inflated. Not the compressed
    bytes: the same data compresses to other bytes at another level or by another tool, a
    gzip header records a file name and a time, a plain file has none, and a gzip trailer's
    CRC describes only the last member of a file of several. Kept per file version (its
    absolute path, size and modification time: a relative one names another file after a
    chdir), as a run looks for the pairs more than once."""
    with _reading(path):
        info = path.stat()
        return _digest_of(str(path.resolve()), info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    """:func:`_digest` of one version of a file (``size`` and ``mtime_ns`` key the cache)."""
    digest = hashlib.sha256()
    with _inflated(Path(path)) as (stream, _):
        head = _header_bytes(stream)
        digest.update(head)
        try:
            need = _needed(*_parse_header(head, Path(path)))
        except DataError:  # a bad header: its bytes alone are compared (refused when read)
            return digest.hexdigest()
        for chunk in _chunks(stream, need + 1 - len(head)):
            digest.update(chunk)
    return digest.hexdigest()


def _idx_entries(directory: Path) -> list[tuple[Path, re.Match]]:
    """The entries of ``directory`` named like IDX files (files or not), sorted, with the
    match of their name (its ``part`` and ``kind``)."""
    named = ((entry, _PAIR.match(entry.name)) for entry in sorted(directory.iterdir()))
    return [(entry, match) for entry, match in named if match]


def _held(folder: Path) -> str:
    """Where a directory holds the file of its own name (or that name with or without
    ``.gz``), as some unzip tools extract ``train-images-idx3-ubyte.gz`` into
    ``train-images-idx3-ubyte/train-images-idx3-ubyte``: "; it holds the IDX file ..."
    naming it; "" where it holds none."""
    name = folder.name.removesuffix(".gz")
    inner = next((f for f in (folder / name, folder / f"{name}.gz") if f.is_file()), None)
    if inner is None:
        return ""
    return (
        f"; it holds the IDX file {inner} (some unzip tools put each file in a folder of its name)"
    )


def _not_a_file(path: Path) -> str:
    """The message for a directory where an IDX file was expected."""
    return f"{path}: a directory, not an IDX file{_held(path)}"


def _refuse_folders(directory: Path) -> None:
    """Refuse a directory inside ``directory`` named like an IDX file, where no file of its part
    and kind stands beside it: left out as it was, the directory held "no IDX pair", or its
    part was missing (a lone t10k pair trained on, or no test part scored), silently."""
    entries = _idx_entries(directory)
    files = {match.group("part", "kind") for entry, match in entries if entry.is_file()}
    for entry, match in entries:
        if entry.is_dir() and match.group("part", "kind") not in files:
            raise DataError(
                f"{_not_a_file(entry)}; the image and label files must lie in {directory} itself"
            )


_PART_ALIASES = {"train": ("train", "training"), "test": ("t10k", "test", "testing")}


def load_idx_dir(
    directory: str | os.PathLike,
    part: str | None = None,
    dtype: Any = np.float32,
    pixel_range: tuple[float, float] | None = None,
    image_shape: Sequence[int] | None = None,
) -> Dataset:
    """The images and labels of one part ("train" or "test", i.e. t10k; None: train) of an IDX
    directory.

    Images are flattened to one row per image and scaled to [0, 1] (:func:`scale_images`);
    ``meta["image_shape"]`` keeps their shape and ``meta["pixel_range"]`` the values mapped
    onto 0 and 1. Given a ``pixel_range`` (a model's training images'), the images are mapped
    from it instead of from their own, and a pixel outside it is refused (images on another
    scale: they would land far outside [0, 1] and give confident, wrong answers). Without one,
    another part than the training part (the t10k images) is mapped from the training part's
    range and checked against it in the same way: a model trained on the training part sees
    it so. Given an ``image_shape`` (a model's training images'), images of another shape
    are refused, even with as many pixels (4x9 for 6x6: each pixel would feed another input).
    If the directory holds a single pair of files, it is used whatever its name, unless
    ``part`` asks for the other part (a lone ``train`` pair is no test part). ``dtype`` must
    be a floating-point type. A directory named like an IDX file, in ``directory`` where no
    such file stands beside it or as ``directory`` itself, is refused, naming the file of its
    name inside (some unzip tools put each file in a folder of its name).
    """
    directory = Path(directory)
    check_float_dtype(str(directory), dtype)  # an integer dtype rounds every pixel to 0 or 1
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory")
    _refuse_folders(directory)
    pairs = find_idx_pairs(directory)
    if not pairs and _PAIR.match(directory.name):  # an IDX file's name: a file was meant
        raise DataError(
            f"{_not_a_file(directory)}; give the directory that holds the image and label files"
        )
    if not pairs:
        raise DataError(
            f"{directory}: no IDX image/label pair found (expected names like "
            "train-images-idx3-ubyte and train-labels-idx1-ubyte, optionally .gz)"
        )
    chosen = _choose_part(directory, pairs, part or "train", asked=part is not None)
    images_path, labels_path = pairs[chosen]
    files = _ImageFiles()  # every file read once, whichever part needs it
    images, labels = files.array(images_path), read_idx(labels_path)
    if images.ndim < 2:
        raise DataError(f"{images_path}: images need 2 or more dimensions, got {images.shape}")
    if len(images) == 0 or images[0].size == 0:
        raise DataError(f"{images_path}: holds no images (dimensions {images.shape})")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{labels_path}: labels must be a 1-D integer array, got {labels.dtype} {labels.shape}"
        )
    if len(labels) != len(images):
        raise DataError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}"
        )
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise DataError(
            f"{images_path}: images of shape {_shape_text(images.shape[1:])}, but the model "
            f"was trained on images of shape {_shape_text(image_shape)}"
        )
    if len(labels) and labels.min() < 0:
        i = int(np.argmin(labels))
        raise DataError(f"{labels_path}: label of case {i} is {labels[i]}; labels must be >= 0")
    training = None  # the training part's images file, when another part is loaded
    if pixel_range is None:  # another part is mapped and checked as the training part
        found = _training_range(directory, pairs, chosen, files)
        if found is not None:
            training, pixel_range = found
    checked = pixel_range is not None
    try:
        if not checked:
            pixel_range = _pooled_range(pairs, chosen, files)
        scaled = scale_images(images, dtype, pixel_range=pixel_range)
    except DataError as error:
        raise DataError(f"{images_path}: {error}") from None
    if checked:
        _check_within(images, pixel_range, images_path, training)
    return Dataset(
        X=scaled.reshape(len(images), -1),
        y=labels.astype(np.int64),
        task="classification",
        name=directory.name or str(directory),
        meta={
            "image_shape": list(images.shape[1:]),
            "pixel_range": [float(pixel_range[0]), float(pixel_range[1])],
            "part": chosen,
            "images": str(images_path),
            "labels": str(labels_path),
        },
    )


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(int(n)) for n in shape)


class _ImageFiles:
    """One load's view of an IDX directory's image files: each file's pixels are read at most
    once (MNIST's 60000 training images are 47 MB to inflate), and a file whose pixels cannot
    change the result is looked at only by its header."""

    def __init__(self) -> None:
        self._arrays: dict[Path, np.ndarray | DataError] = {}
        self._headers: dict[Path, tuple[np.dtype, tuple[int, ...]] | None] = {}

    def array(self, path: Path) -> np.ndarray:
        """:func:`read_idx`'s array, read once (and its DataError, raised each time)."""
        if path not in self._arrays:
            try:
                self._arrays[path] = read_idx(path)
            except DataError as error:
                self._arrays[path] = error
        found = self._arrays[path]
        if isinstance(found, DataError):
            raise found
        return found

    def readable(self, path: Path) -> np.ndarray | None:
        """The array, or None for a file that cannot be read."""
        try:
            return self.array(path)
        except DataError:
            return None

    def header(self, path: Path) -> tuple[np.dtype, tuple[int, ...]] | None:
        """The file's native dtype and dimensions; None for an unreadable header."""
        found = self._arrays.get(path)
        if isinstance(found, np.ndarray):
            return found.dtype, found.shape
        if path not in self._headers:
            try:
                self._headers[path] = _read_header(path)
            except DataError:
                self._headers[path] = None
        return self._headers[path]

    def pools_with(self, path: Path, other: Path) -> bool:
        """Whether two files' images are scaled alike: both readable headers, images of the
        same shape and kind, integer or float (:func:`pixel_range_of`'s rules differ)."""
        mine, theirs = self.header(path), self.header(other)
        return (
            mine is not None
            and theirs is not None
            and mine[1][1:] == theirs[1][1:]
            and np.issubdtype(mine[0], np.integer) == np.issubdtype(theirs[0], np.integer)
        )

    def eight_bit(self, path: Path) -> bool:
        """Whether the file's pixels lie within 0..255 whatever they are (uint8, by its
        header), or are read and do (8-bit pixels stored in a wider integer type)."""
        found = self._arrays.get(path)
        if isinstance(found, np.ndarray) and np.issubdtype(found.dtype, np.integer):
            return found.size == 0 or (found.min() >= 0 and found.max() <= 255)
        header = self.header(path)
        return header is not None and header[0] == np.uint8


def _pooled_range(pairs: dict, part: str, files: _ImageFiles) -> tuple[float, float]:
    """:func:`pixel_range_of` ``part``'s images and those of the directory's other parts they
    pool with (:meth:`_ImageFiles.pools_with`; a file that cannot be read is left to be refused
    when its own part is loaded). Integer and float parts are not pooled: floats in [0, 1]
    beside 8-bit integers are on another scale, and pooled they were divided by 255
    (near-black) or the integers by 249 (every pixel above 1). DataError if ``part``'s own
    images cannot be read or hold NaN."""
    path = pairs[part][0]
    pooled = [pairs[p][0] for p in pairs if p != part and files.pools_with(pairs[p][0], path)]
    if all(files.eight_bit(file) for file in (path, *pooled)):
        # 0..255 whatever their pixels, and whether or not each can be read (one that cannot
        # is left out): the pixels of the files not yet read are not needed
        return 0.0, 255.0
    others = [array for array in map(files.readable, pooled) if array is not None]
    return pixel_range_of(files.array(path), others)


def _training_range(
    directory: Path, pairs: dict, chosen: str, files: _ImageFiles
) -> tuple[Path, tuple[float, float]] | None:
    """The training part's images file and the pixel range it is mapped from, for loading
    another part of the directory (its t10k) as a model trained on it sees that part; None
    when ``chosen`` is the training part, or there is none of the chosen images' shape whose
    pixels are readable and finite (that part is refused when it is loaded itself)."""
    try:
        train = _choose_part(directory, pairs, "train")
    except DataError:
        return None
    if train == chosen:
        return None
    images_path, chosen_path = pairs[train][0], pairs[chosen][0]
    header, image_shape = files.header(images_path), files.header(chosen_path)[1][1:]
    if header is None or header[1][1:] != image_shape:
        return None
    # Unread 8-bit training pixels pooled with the chosen 8-bit images give 0..255, and so
    # would the chosen images' own range were the training file unreadable; beside float
    # images, whether it can be read decides, so it is read.
    if not files.pools_with(images_path, chosen_path) and files.readable(images_path) is None:
        return None
    try:
        return images_path, _pooled_range(pairs, train, files)
    except DataError:
        return None


def names_part(prefix: str, part: str) -> bool:
    """Whether an IDX pair's prefix names ``part``: "t10k", "test" or ``emnist-letters-test``
    for "test"; "train", "training" or ``emnist-letters-train`` for "train"."""
    return _names_part(prefix, _PART_ALIASES.get(part, (part,)))


def _names_part(prefix: str, aliases: Sequence[str]) -> bool:
    """Whether a pair's prefix names one of ``aliases`` (``t10k``, ``emnist-letters-test``)."""
    return prefix in aliases or re.split(r"[-_.]", prefix)[-1] in aliases


def _choose_part(directory: Path, pairs: dict, part: str, asked: bool = True) -> str:
    """The prefix for ``part``: an exact name, a prefix ending in that name
    (``emnist-letters-train`` for "train"), or the only pair, whatever its name, unless the
    user ``asked`` for a part and its name is another part's (a lone train pair is no test
    part: it was scored as one)."""
    aliases = _PART_ALIASES.get(part, (part,))
    for alias in aliases:
        if alias in pairs:
            return alias
    ending = [p for p in pairs if _names_part(p, aliases)]
    if len(ending) == 1:
        return ending[0]
    if len(pairs) == 1:
        only = next(iter(pairs))
        other = next((known for known, names in _PART_ALIASES.items()
                      if known != part and _names_part(only, names)), None)  # fmt: skip
        if other is None or not asked:
            return only
        images, labels = pairs[only]
        raise DataError(
            f"{directory}: no IDX pair for part {part!r}; it holds only the {other} part "
            f"({images.name}, {labels.name})"
        )
    raise DataError(
        f"{directory}: no single IDX pair for part {part!r}; found {', '.join(sorted(pairs))}"
    )
