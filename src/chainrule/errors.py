"""Every error type chainrule raises, in one place (each layer imports what it raises).

:class:`UserError` and its subclasses mean the user asked for something wrong (not a bug in
chainrule): the command line prints the message on one line and exits with code 2; library
callers catch the specific subclasses. The others report what a computation found (a NaN under
:func:`~chainrule.detect_anomaly`, a freed graph, a failed gradient check). Each is also
importable from the module that raises it (``chainrule.engine.GraphFreedError``, ...).
"""

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import Any, SupportsIndex

#: The error types (what ``from chainrule.errors import *`` brings). The helpers below that
#: chainrule's modules share to word their messages are imported by name.
__all__ = [
    "AnomalyError",
    "ConfigError",
    "ConversionError",
    "DataError",
    "GradcheckError",
    "GraphFreedError",
    "LabelError",
    "MissingExtraError",
    "ModelFileError",
    "SettingWarning",
    "ShapeError",
    "StateDictError",
    "TrainingDiverged",
    "UserError",
    "ZeroDerivativeWarning",
]


class SettingWarning(UserWarning):
    """A ``CHAINRULE_*`` environment variable chainrule does not know, or a value it does not
    take: it has no effect (:func:`chainrule.backend.check_settings`)."""


class ZeroDerivativeWarning(UserWarning):
    """A transform's function whose output depends on none of its variables, only on other
    tensors that require a gradient: its derivative is all zeros, rightly where the argument
    enters through comparisons, masks or ``detach`` alone, by a slip where the function reads
    a module's own parameters rather than its argument (``chainrule.functional``); and
    ``cr.gradient``'s inputs that no output reaches where that is a slip (a slice made after
    the forward, a tensor whose numbers were fed in), whose gradients are zeros."""


class UserError(Exception):
    """A mistake in the input: a bad file, an unknown name, a value out of range."""


class DataError(UserError, ValueError):
    """A dataset or data file that cannot be used as given (names the file and line)."""


class ModelFileError(UserError, ValueError):
    """A model or checkpoint file that is missing, truncated or of another architecture."""


class ConfigError(UserError, ValueError):
    """An architecture, loss or optimizer description that cannot be built (unknown name, bad
    value); the message names what is wrong and the choices."""


class StateDictError(UserError, ValueError):
    """A state dict that does not fit the model or optimizer: missing or extra keys, another shape
    or dtype. Nothing is loaded when this is raised."""


class TrainingDiverged(UserError, FloatingPointError):
    """The training loss or a trained parameter became NaN or infinite: a learning rate too
    large, or a gradient that is NaN or infinite where it is taken (sqrt or log at 0, a division
    by 0); ``with cr.detect_anomaly():`` around the fit stops at the op that made it."""


class LabelError(UserError, ValueError):
    """A class label outside the classes of the logits it is scored against (names the label)."""


class ShapeError(ValueError):
    """Operands whose shapes the op cannot combine; the message names the op and the shapes."""


#: the words of an array library's refusal of operands' shapes (NumPy's and CuPy's ValueError,
#: PyTorch's RuntimeError, array-api-strict's): "could not be broadcast", "mismatch in its core
#: dimension", "cannot reshape array of size", "axis 2 is out of bounds", "must match exactly"
_SHAPE_WORDS = re.compile(r"shape|broadcast|dimension|size|axis|axes|match", re.IGNORECASE)


#: chainrule's own folder, whose frames :func:`user_stacklevel` skips
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel() -> int:
    """``warnings.warn``'s ``stacklevel`` at the innermost frame outside chainrule's package:
    the user's line (that called ``fit``, ``save_model``, a callback of theirs), however many
    of chainrule's functions lie between it and the one that warns, which calls this in its
    ``warnings.warn(...)``. Python 3.11 has no ``skip_file_prefixes``."""
    frame, level = sys._getframe(1), 1  # 1: the function that warns
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` for a message, plural unless one: "1 input", "3 inputs", and with an
    irregular ``plural`` "1 bias", "2 biases". The one home of the plurals chainrule prints."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def type_name(value: object) -> str:
    """``float``, ``numpy.ndarray``, ``torch.optim.SGD``, ``chainrule.nn.Linear``: the type of
    ``value`` by the name a user would import it by, for an error that says what it was given:
    the shortest loaded module path that exports the class (``torch.optim``, not
    ``torch.optim.sgd``, where it is defined, nor ``torch``, which has no ``SGD``), else its
    module's path without the private parts."""
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    parts = kind.__module__.split(".")
    for n in range(1, len(parts)):
        prefix = ".".join(parts[:n])
        module = sys.modules.get(prefix)
        if module is not None and getattr(module, kind.__qualname__, None) is kind:
            return f"{prefix}.{kind.__qualname__}"
    # exported by none: its module's path up to the first private part (jaxlib.ArrayImpl, not
    # jaxlib._jax.ArrayImpl, which reads as an internal a user never met)
    public = []
    for part in parts:
        if part.startswith("_"):
            break
        public.append(part)
    return ".".join([*public, kind.__qualname__])


def mark_in_process(error: BaseException, **attributes: object) -> None:
    """Give ``error`` attributes that code in this process reads (the tensor a refusal is of,
    the rule that raised), which a pickle or a copy of the error leaves out: a tensor an op
    made, or a graph's node, does not pickle, and a worker process (``multiprocessing``,
    ``concurrent.futures``, joblib) sends its error back pickled, so it arrived as another
    error (joblib's ``TerminatedWorkerError``, a pool's ``MaybeEncodingError``). The copy has
    the error's type, its arguments (the message) and its other attributes."""
    vars(error).update(attributes)
    reducer = vars(error).get("__reduce_ex__")
    if isinstance(reducer, _LeavingOut):
        reducer.names.update(attributes)
    else:  # found on the instance before the type's, by pickle and copy alike
        error.__reduce_ex__ = _LeavingOut(error, set(attributes))  # type: ignore[assignment]


class _LeavingOut:
    """The ``__reduce_ex__`` :func:`mark_in_process` gives an error: its type's, without the
    attributes named (nor itself)."""

    __slots__ = ("error", "names")

    def __init__(self, error: BaseException, names: set[str]) -> None:
        self.error = error
        self.names = names

    def __call__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        reduced = type(self.error).__reduce_ex__(self.error, protocol)
        if not isinstance(reduced, tuple) or len(reduced) < 3 or not isinstance(reduced[2], dict):
            return reduced
        state = {
            name: value
            for name, value in reduced[2].items()
            if name not in self.names and name != "__reduce_ex__"
        }
        return (*reduced[:2], state or None, *reduced[3:])


def is_about_shapes(error: Exception) -> bool:
    """Whether a library's error (its first line) refuses the operands' shapes, not some other
    failure (PyTorch's out of memory is a RuntimeError that names sizes)."""
    if "OutOfMemory" in type(error).__name__ or "out of memory" in str(error):
        return False
    return bool(_SHAPE_WORDS.search(str(error).split("\n")[0]))


#: NumPy's (and array-api-strict's, which is NumPy inside) refusals of shapes, in words that
#: show its internals ("(2,3,4)->(2,newaxis,newaxis)", an unknown -1 as "newaxis") and repeat
#: the shapes that an op's message already names: each with the plain words said instead
_NUMPY_SHAPE_WORDS = (
    (
        re.compile(r"(shape mismatch: )?operands could not be broadcast together.*"),
        "they do not broadcast",
    ),
    (
        re.compile(r"cannot reshape array of size (\d+) into shape .*"),
        r"an array of \1 elements cannot take that shape",
    ),
)


def shape_reason(error: Exception) -> str:
    """A library's refusal of operands' shapes (its first line), for a message that already
    names the op and the shapes: NumPy's wordings in plain words, any other as it is."""
    detail = str(error).split("\n")[0]
    for words, plain in _NUMPY_SHAPE_WORDS:
        if words.fullmatch(detail.strip()):
            return words.sub(plain, detail.strip())
    return detail


class AnomalyError(FloatingPointError):
    """A NaN or Inf appeared while :func:`~chainrule.detect_anomaly` was on."""


class GraphFreedError(RuntimeError):
    """Backward reached a node whose saved values an earlier backward released."""


class GradcheckError(AssertionError):
    """A gradient check that did not pass (``gradcheck(..., raise_on_failure=True)``): analytic
    and numeric derivatives disagree, or the check gave no verdict; the message is the
    report's, with the values side by side, and ``report`` is the
    :class:`~chainrule.gradcheck.GradcheckReport` itself (None where none was given)."""

    def __init__(self, message: str = "", report: object = None) -> None:
        super().__init__(message)
        self.report = report


class MissingExtraError(UserError, ModuleNotFoundError):
    """An optional package that one of chainrule's extras installs is missing; the message names
    what needed it, the package and the extra (:func:`missing_extra`). A ModuleNotFoundError,
    so ``except ImportError`` still catches it; a UserError, so the command line prints it on
    one line."""


#: chainrule's extras as pyproject.toml lists them, each distribution with the top-level module
#: it is imported by (None: it holds no module; MPICH is mpiexec and the MPI library). Only the
#: extras of a feature, not those of development (docs, test, bench); a test keeps this table
#: and pyproject.toml the same.
EXTRAS: dict[str, dict[str, str | None]] = {
    "app": {
        "rich": "rich",
        "typer": "typer",
        "matplotlib": "matplotlib",
        "safetensors": "safetensors",
        "scikit-learn": "sklearn",
        "scipy": "scipy",
        "sympy": "sympy",
        "mpmath": "mpmath",
        "latex2mathml": "latex2mathml",
        "starlette": "starlette",
        "anyio": "anyio",
        "uvicorn": "uvicorn",
        "pydantic": "pydantic",
        "threadpoolctl": "threadpoolctl",
    },
    "mpi": {"mpi4py": "mpi4py", "mpich": None, "threadpoolctl": "threadpoolctl"},
    "arrays": {
        "array-api-compat": "array_api_compat",
        "array-api-strict": "array_api_strict",
        "jax": "jax",
    },
    "notebook": {
        "ipykernel": "ipykernel",
        "nbclient": "nbclient",
        "nbformat": "nbformat",
        "anywidget": "anywidget",
        "traitlets": "traitlets",
    },
    "onnx": {"onnx": "onnx", "onnxruntime": "onnxruntime"},
}

#: Modules chainrule imports that come with a distribution of an extra, as its dependencies.
BROUGHT_BY = {"scipy": "scikit-learn", "click": "typer", "traitlets": "anywidget"}


def _extra_of(module: str) -> tuple[str, str, str | None] | None:
    """(distribution, extra, the distribution's own module) that installs top-level ``module``,
    or None for a module no extra installs."""
    for extra, distributions in EXTRAS.items():
        for distribution, own in distributions.items():
            if module == own or BROUGHT_BY.get(module) == distribution:
                return distribution, extra, own
    return None


def _installed(module: str | None) -> bool:
    """Whether ``module`` (a top-level name) is imported or could be."""
    import importlib.util  # on the way to an error only

    if module is None:
        return False
    return sys.modules.get(module) is not None or importlib.util.find_spec(module) is not None


def missing_extra(error: ModuleNotFoundError, what: str) -> ModuleNotFoundError:
    """What to raise for ``error``, met by ``what`` (``"the command line"``, ``"plot_history"``):
    a :class:`MissingExtraError` where the missing module comes with one of chainrule's extras
    ("plot_history needs matplotlib, from chainrule's [app] extra: pip install
    'chainrule[app]'"), else ``error`` itself. pip installs chainrule without extras by default,
    so a user may never have chosen the package that ModuleNotFoundError names."""
    if isinstance(error, MissingExtraError) or not error.name:
        return error  # said already, by the part that needed the package; or no module named
    top = error.name.partition(".")[0]
    found = _extra_of(top)
    if found is None or sys.modules.get(top) is not None:
        return error  # no extra's; or installed, lacking a submodule: its version, said as it is
    distribution, extra, own = found
    # scipy, which scikit-learn brings: named where scikit-learn itself is installed
    detail = "" if top == own or not _installed(own) else f" (no module named {top!r})"
    return MissingExtraError(
        f"{what} needs {distribution}{detail}, from chainrule's [{extra}] extra: "
        f"pip install 'chainrule[{extra}]'",
        name=error.name,
    )


@contextlib.contextmanager
def extras_needed_by(what: str) -> Iterator[None]:
    """Inside, a module of chainrule's extras that is not installed raises
    :class:`MissingExtraError` naming ``what`` (:func:`missing_extra`), not a bare
    ModuleNotFoundError; put it around the imports of an optional package.

    >>> with extras_needed_by("plot_history"):          # doctest: +SKIP
    ...     from matplotlib.figure import Figure
    """
    try:
        yield
    except ModuleNotFoundError as error:
        missing = missing_extra(error, what)
        if missing is error:
            raise
        raise missing from None  # the message names the module: the chain would add nothing


class ConversionError(UserError, ValueError):
    """A network that cannot be converted to or from another library (PyTorch, ONNX): names the
    layer that has no counterpart, or the missing optional package."""
