"""What the classifier and the regressor share: parameters, checks, the network and the loop."""

from __future__ import annotations

import inspect
import numbers
import re
import types
import warnings
from typing import Any, Self

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

import chainrule
from chainrule import distributed, nn, optim
from chainrule.engine import no_grad
from chainrule.errors import user_stacklevel
from chainrule.nn.activations import HIDDEN
from chainrule.nn.losses import LOSSES
from chainrule.tensor import Tensor

ACTIVATIONS = ("identity", *HIDDEN)
SOLVERS = ("sgd", "adam", "rmsprop")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
DTYPES = {None: None, "float32": np.float32, "float64": np.float64}
#: what validate_data sets at a first fit (feature names only for a DataFrame's)
FEATURE_ATTRIBUTES = ("n_features_in_", "feature_names_in_")
#: what a refusal of sparse X adds to scikit-learn's "Use '.toarray()'", which cannot be done
#: inside a pipeline: the step that can (methodcaller pickles, a lambda does not)
DENSE_STEP = (
    "{name} takes dense X only; in a pipeline after a step of sparse output (TfidfVectorizer, "
    "CountVectorizer), put FunctionTransformer(operator.methodcaller('toarray'), "
    "accept_sparse=True) before {name} (FunctionTransformer from sklearn.preprocessing)"
)


def _validated(estimator: Any, X: Any, *args: Any, **checks: Any) -> Any:
    """scikit-learn's ``validate_data(estimator, X, ...)``; its refusal of a sparse ``X``
    (a TypeError, in its words) also names the pipeline step that makes X dense
    (:data:`DENSE_STEP`)."""
    try:
        return validate_data(estimator, X, *args, **checks)
    except TypeError as error:
        if not issparse(X):
            raise
        name = type(estimator).__name__
        raise TypeError(f"{error} {DENSE_STEP.format(name=name)}") from None


# -- the network ------------------------------------------------------------------------------
class _GlorotUniform:
    """Draws U(-bound, bound), scikit-learn's MLP initialiser (a class, so models pickle)."""

    def __init__(self, bound: float) -> None:
        self.bound = bound

    def __call__(self, shape: tuple[int, ...], dtype: Any, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-self.bound, self.bound, size=shape).astype(dtype)


def _build_network(
    sizes: list[int], activation: str, dtype: Any, rng: np.random.Generator
) -> nn.Sequential:
    """Linear layers between ``sizes``, ``activation`` units after each hidden one, logits out."""
    layers: list[nn.Linear] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        factor = 2.0 if activation == "logistic" else 6.0  # scikit-learn's factors
        bound = float(np.sqrt(factor / (n_in + n_out)))
        layer = nn.Linear(n_in, n_out, init=_GlorotUniform(bound), dtype=dtype, rng=rng)
        layer.bias.data[...] = rng.uniform(-bound, bound, size=n_out)
        layers.append(layer)
    return _stack(layers, activation)


def _stack(layers: list[nn.Linear], activation: str) -> nn.Sequential:
    """``layers`` with ``activation`` units after each but the last (whose outputs are logits)."""
    unit = nn.ACTIVATIONS[activation].module
    stacked: list[nn.Module] = []
    for index, layer in enumerate(layers):
        stacked.append(layer)
        if index < len(layers) - 1 and unit is not None:
            stacked.append(unit())
    return nn.Sequential(*stacked)


def _given(*arrays: Any) -> list[Any]:
    """The arrays that are not None (sample weights are None where none were given)."""
    return [array for array in arrays if array is not None]


def _linear_layers(network: nn.Sequential) -> list[nn.Linear]:
    return [layer for layer in network if isinstance(layer, nn.Linear)]


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _dtype_name(dtype: Any) -> Any:
    """``dtype`` as a key of DTYPES where it is a NumPy type or dtype (np.float32,
    np.dtype("float64")): its name; anything else as it is, for the check to refuse."""
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        return np.dtype(dtype).name
    return dtype


def _named_for(function: Any, owner: type) -> Any:
    """A copy of ``function`` named ``owner.name``: Python's TypeErrors for a call (an unknown
    keyword, a missing argument) name the function's __qualname__, which should be the user's
    class (MLPClassifier), not the base class that defines it."""
    copy = types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__,
        function.__closure__,
    )  # fmt: skip
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__doc__, copy.__module__ = function.__doc__, function.__module__
    copy.__annotations__ = dict(function.__annotations__)
    copy.__qualname__ = f"{owner.__name__}.{function.__name__}"
    return copy


#: the names of losses a value given positionally may be meant as: scikit-learn's and chainrule's
LOSS_NAMES = frozenset(
    {"squared_error", "poisson", "log_loss"}
    | set(LOSSES)
    | {name.replace("-", "_") for name in LOSSES}
)
ORDINALS = ("first", "second", "third")


def _as_sizes(value: Any) -> Any:
    """``value`` as ``hidden_layer_sizes`` would take it, where it looks like layer sizes (an
    int, a sequence of ints, or a string of them such as ``"10"`` or ``"10, 5"``); else None."""
    if isinstance(value, str):
        if re.fullmatch(r"[\s(\[]*\d+(\s*[,\s]\s*\d+)*[\s,)\]]*", value):
            return tuple(int(n) for n in re.findall(r"\d+", value))
        return None
    if isinstance(value, numbers.Integral) and not _is_bool(value):
        return value
    if (
        isinstance(value, (tuple, list))
        and value
        and all(isinstance(n, numbers.Integral) and not _is_bool(n) for n in value)
    ):
        return value
    return None


def positional_hint(estimator: Any, param: str, value: Any) -> str:
    """Where ``value``, refused as ``param``, looks meant for another parameter (an activation's
    name, a loss's, layer sizes): what it is, ``param``'s place among the estimator's positional
    parameters (scikit-learn's order: ``MLPRegressor((10,))`` sets ``loss``), and the keyword to
    pass it by; "" where it looks like none of them."""
    name = type(estimator).__name__
    signature = inspect.signature(type(estimator).__init__).parameters.values()
    positional = [p.name for p in signature if p.kind == p.POSITIONAL_OR_KEYWORD][1:]  # no self
    where = (
        f"{param} is {name}'s {ORDINALS[positional.index(param)]} positional parameter (as in "
        "scikit-learn)"
    )
    sizes = _as_sizes(value)
    if isinstance(value, str) and value in ACTIVATIONS:
        return f"{value!r} is an activation, and {where}: pass activation={value!r} by name"
    if isinstance(value, str) and value in LOSS_NAMES:
        if param == "loss":  # another spelling of a loss, given where a loss belongs
            return f"{name}'s losses are spelt as scikit-learn's (loss='squared_error')"
        if "loss" not in positional:
            return (
                f"{value!r} is a loss, and {where}; {name} takes no loss: it descends the "
                "cross-entropy its targets call for (loss_function_ after a fit)"
            )
        return f"{value!r} is a loss, and {where}: pass loss={value!r} by name"
    if sizes is not None and param != "hidden_layer_sizes":
        return f"{where}: pass hidden_layer_sizes={sizes!r} by name"
    if sizes is not None:  # a string of sizes
        return f"give the sizes as ints, hidden_layer_sizes={sizes!r}"
    return ""


def output_units(activation: str, logits: np.ndarray) -> np.ndarray:
    """The output units applied to the logits, by the op of the one activation table."""
    return np.asarray(nn.ACTIVATIONS[activation].op(Tensor(logits)).data)


class InvalidParameterError(ValueError, TypeError):
    """A parameter that ``fit`` or ``partial_fit`` refuses (a value out of range, of another
    type, not one of the choices), named in the message: a ValueError and a TypeError, as
    scikit-learn's own (``sklearn.utils._param_validation.InvalidParameterError``, which
    scikit-learn does not export) is, so code catching either takes it as it takes
    scikit-learn's."""


class InconsistentVersionWarning(_SklearnVersionWarning):
    """An estimator unpickled by another chainrule version than the one that pickled it (or
    pickled before chainrule recorded its version): scikit-learn's warning of the kind, so
    a filter of scikit-learn's takes it too, naming chainrule's versions. A change that a
    pickle of an older version cannot follow is to refuse that version by name."""

    def __init__(self, estimator_name: str, current: str, original: str | None) -> None:
        UserWarning.__init__(self, estimator_name, current, original)  # args: it pickles
        self.estimator_name = estimator_name
        self.current_chainrule_version, self.original_chainrule_version = current, original

    def __str__(self) -> str:
        original = self.original_chainrule_version
        pickled = (
            f"chainrule {original}"
            if original is not None
            else "a chainrule older than its pickles' version record"
        )
        return (
            f"{self.estimator_name} was pickled by {pickled} and is read by chainrule "
            f"{self.current_chainrule_version}: its fields are read as that version wrote them "
            "where chainrule knows how, but it may predict otherwise or fail; refit it, or "
            "read it with the version that pickled it"
        )


class BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, checks, the training loop."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in ("__init__", "fit"):  # each estimator's own, named for it in errors
            if method not in vars(cls):
                setattr(cls, method, _named_for(getattr(cls, method), cls))

    def __getstate__(self) -> dict[str, Any]:
        """scikit-learn's state with the chainrule version that pickles it, as scikit-learn
        records its own ``_sklearn_version`` (for its own estimators only)."""
        return {**super().__getstate__(), "_chainrule_version": chainrule.__version__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Warn (:class:`InconsistentVersionWarning`, naming both versions) where another
        chainrule version pickled the estimator, as scikit-learn warns of its own versions."""
        state = dict(state)
        pickled = state.pop("_chainrule_version", None)
        if pickled != chainrule.__version__:
            warnings.warn(
                InconsistentVersionWarning(type(self).__name__, chainrule.__version__, pickled),
                stacklevel=user_stacklevel(),
            )
        tied = state.get("_tied_arrays")
        if tied is not None and not all(
            array is was
            for arrays, were in zip((state.get("coefs_", ()), state.get("intercepts_", ())), tied)
            for array, was in zip(arrays, were)
        ):  # a pickler that copies each array (joblib's memmaps) keeps no sharing to go by
            del state["_tied_arrays"]  # coefs_ is the model, as when it was assigned
        super().__setstate__(state)

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "logistic",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        rho: float = 0.9,
        n_iter_no_change: int = 10,
        dtype: str | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.rho = rho
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype

    # -- checking the parameters (at fit, as scikit-learn asks: never in __init__) -----------
    def _hidden_sizes(self) -> list[int]:
        given = sizes = self.hidden_layer_sizes
        name = type(self).__name__
        if isinstance(given, str):  # a str is a sequence too, of letters: 'relu' gave r, e, l, u
            hint = positional_hint(self, "hidden_layer_sizes", given)
            raise InvalidParameterError(
                f"{name}: hidden_layer_sizes must be an int or a sequence of ints, got the "
                f"string {given!r}" + (f"; {hint}" if hint else "")
            )
        if isinstance(sizes, numbers.Integral):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise InvalidParameterError(
                f"{name}: hidden_layer_sizes must be an int or a sequence of ints, got {given!r}"
            ) from None
        if not all(isinstance(n, numbers.Integral) and not _is_bool(n) and n > 0 for n in sizes):
            raise InvalidParameterError(
                f"{name}: hidden_layer_sizes must be positive integers, got {given!r}"
            )
        return [int(n) for n in sizes]

    def _check_choice(self, param: str, choices: tuple) -> None:
        value = getattr(self, param)
        if not isinstance(value, str) or value not in choices:
            raise InvalidParameterError(
                f"{type(self).__name__}: {param}={value!r} is not one of "
                f"{', '.join(map(repr, choices))}"
            )

    def _requested_dtype(self) -> type | None:
        """The NumPy type ``dtype`` asks for; None: follow the input."""
        return DTYPES[_dtype_name(self.dtype)]

    def _check_parameters(self) -> None:
        """Refuse a bad parameter, naming it, before fit changes anything."""
        name = type(self).__name__

        def number(param: str, low: float, high: float = np.inf, closed: str = "both") -> None:
            value = getattr(self, param)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if ok:
                above = value >= low if closed in ("both", "left") else value > low
                below = value <= high if closed in ("both", "right") else value < high
                ok = above and below
            if not ok:
                interval = f"{'[' if closed in ('both', 'left') else '('}{low}, {high}"
                interval += "]" if closed in ("both", "right") else ")"
                raise InvalidParameterError(
                    f"{name}: {param} must be a number in {interval}, got {value!r}"
                )

        def flag(param: str) -> None:
            value = getattr(self, param)
            if not _is_bool(value):
                raise InvalidParameterError(
                    f"{name}: {param} must be a bool (True or False), got {value!r}"
                )

        self._hidden_sizes()
        for param in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            flag(param)
        verbose = self.verbose  # scikit-learn takes a level as well
        if not _is_bool(verbose) and not (isinstance(verbose, numbers.Integral) and verbose >= 0):
            raise InvalidParameterError(
                f"{name}: verbose must be a bool or an integer >= 0, got {verbose!r}"
            )
        self._check_choice("activation", ACTIVATIONS)
        self._check_choice("solver", SOLVERS)
        self._check_choice("learning_rate", LEARNING_RATES)
        dtype = _dtype_name(self.dtype)
        if dtype is not None and (not isinstance(dtype, str) or dtype not in DTYPES):
            raise InvalidParameterError(
                f"{name}: dtype must be None, 'float32' or 'float64' (or np.float32, np.float64), "
                f"not {self.dtype!r}"
            )
        try:  # checked here, not when the generator is made: by then classes_ had changed
            check_random_state(self.random_state)
        except ValueError:
            raise InvalidParameterError(
                f"{name}: random_state must be None, an int in [0, 2**32 - 1] or a "
                f"numpy.random.RandomState, got {self.random_state!r}"
            ) from None
        number("alpha", 0.0)
        number("learning_rate_init", 0.0, closed="right")
        number("power_t", 0.0)
        number("tol", 0.0)
        number("momentum", 0.0, 1.0)
        number("validation_fraction", 0.0, 1.0, closed="neither")
        number("beta_1", 0.0, 1.0, closed="left")
        number("beta_2", 0.0, 1.0, closed="left")
        number("rho", 0.0, 1.0, closed="left")
        number("epsilon", 0.0, closed="right")
        for param in ("max_iter", "n_iter_no_change"):
            value = getattr(self, param)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(
                    f"{name}: {param} must be an integer >= 1, got {value!r}"
                )
        batch = self.batch_size
        if batch != "auto" and (
            not isinstance(batch, numbers.Integral) or isinstance(batch, bool) or batch < 1
        ):
            raise InvalidParameterError(
                f"{name}: batch_size must be 'auto' or an integer >= 1, got {batch!r}"
            )

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Self:
        """Train on ``X`` (n_samples, n_features) and ``y`` for up to ``max_iter`` epochs.

        Starts from fresh weights unless ``warm_start`` is set and the model was fitted before.
        ``sample_weight`` (one weight >= 0 per row, or one number for all; None: each row
        counts 1) weighs each case as scikit-learn's MLP does: its output delta times its
        weight, the data loss and the ``alpha`` penalty over the batch's sum of weights (a
        batch whose weights are all 0 takes no step), early stopping's validation score
        weighted. With ``early_stopping``, a warm fit on the same ``X``, ``y``,
        ``sample_weight`` and ``validation_fraction`` holds out the cases the earlier fit held
        out (its best validation score was measured on them); on other data it holds out others
        and forgets that score, warning.
        Returns ``self``.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def _fit(
        self, X: Any, y: Any, incremental: bool, classes: Any = None, sample_weight: Any = None
    ) -> Self:
        # every check comes before the first change: a refused fit leaves a fitted model as it
        # was (weights, classes_, n_features_in_, loss curve), even where scikit-learn's does not
        if incremental:
            self._check_partial_fit()
        else:
            self._check_parameters()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y, fitted = self._validate_input(
            X, y, reset=first_pass, incremental=incremental, classes=classes
        )
        weights = self._checked_sample_weight(sample_weight, X.shape[0])
        if self.early_stopping:
            self._validation_size(X.shape[0])
        seed = None  # a warm partial_fit goes on with the generator it has
        if first_pass:
            self._set_fitted(fitted)
            seed = self._seed()
            self._random = np.random.default_rng(seed)
            self._initialize(X.shape[1], Y.shape[1], X.dtype)
        else:
            self._load_assigned_weights()  # assigned weights are the model already
            self._check_architecture(X.shape[1], Y.shape[1])
            self._follow_parameters()
            X, Y = X.astype(self._dtype, copy=False), Y.astype(self._dtype, copy=False)
            if not incremental:
                seed = self._seed()
                self._random = np.random.default_rng(seed)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        self._train(X, Y, weights, incremental, seed)
        return self

    def _check_partial_fit(self) -> None:
        """partial_fit's checks of the parameters, made before those of its arguments: the
        parameters, and no early stopping (scikit-learn's words; nothing is changed)."""
        self._check_parameters()
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")

    def _checked_sample_weight(self, sample_weight: Any, n_samples: int) -> np.ndarray | None:
        """``sample_weight`` as float64 weights, one per row of X (a number: that weight for
        every row), or None; refused, naming the problem, where it is not 1-D, has another
        length, holds a NaN, an infinity or a negative weight, or is all 0 (scikit-learn's
        ``_check_sample_weight`` refuses these but negative weights, which its MLP takes)."""
        if sample_weight is None:
            return None
        name = type(self).__name__
        if isinstance(sample_weight, numbers.Real) and not _is_bool(sample_weight):
            sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
        try:
            weights = check_array(
                sample_weight, ensure_2d=False, dtype=np.float64, input_name="sample_weight"
            )
        except (TypeError, ValueError) as error:  # NaN, inf, not numbers, sparse
            raise ValueError(f"{name}: sample_weight: {error}") from None
        if weights.ndim != 1:
            raise ValueError(
                f"{name}: sample_weight must be 1-D (one weight per row of X) or a number, got "
                f"an array of shape {weights.shape}"
            )
        if len(weights) != n_samples:
            raise ValueError(
                f"{name}: sample_weight has {len(weights)} weights, but X has {n_samples} rows"
            )
        negative = np.flatnonzero(weights < 0)
        if len(negative):
            row = int(negative[0])
            raise ValueError(
                f"{name}: sample_weight holds negative weights ({float(weights[row])!r} "
                f"at row {row}"
                f"{f' and {len(negative) - 1} more' if len(negative) > 1 else ''}); a weight "
                "must be >= 0"
            )
        if not weights.any():
            raise ValueError(
                f"{name}: sample_weight must contain at least one non-zero number (all "
                f"{n_samples} weights are 0)"
            )
        return weights

    def _checked_data(self, X: Any, y: Any, reset: bool, **checks: Any):
        """scikit-learn's ``validate_data`` of X and y, and the attributes it sets at a first fit
        (``reset``): read off an unfitted copy, for ``_set_fitted`` to set once every check
        has passed, as validate_data sets them before the checks of y."""
        if not reset:
            X, y = _validated(self, X, y, reset=False, **checks)
            return X, y, {}
        stand_in = clone(self)
        X, y = _validated(stand_in, X, y, reset=True, **checks)
        found = vars(stand_in)
        return X, y, {key: found[key] for key in FEATURE_ATTRIBUTES if key in found}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        """Set a first fit's checked attributes; one on plain arrays forgets the feature names of
        an earlier fit on a DataFrame, as scikit-learn's validate_data does."""
        for key in FEATURE_ATTRIBUTES:
            if key not in fitted and hasattr(self, key):
                delattr(self, key)
        for key, value in fitted.items():
            setattr(self, key, value)

    def _seed(self) -> int:
        """A fit's seed from ``random_state`` (an int gives the same seed every time): of the
        generator of its weights and shuffles, and of early stopping's split, apart."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        # under mpiexec every rank draws rank 0's weights and shuffles: one model, one order
        return int(distributed.world().broadcast_object(seed))

    def _initialize(self, n_features: int, n_outputs: int, dtype: np.dtype) -> None:
        self._dtype = np.dtype(self._requested_dtype() or dtype)
        sizes = [n_features, *self._hidden_sizes(), n_outputs]
        self._network = _build_network(sizes, self.activation, self._dtype, self._random)
        self._tie_weights()
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(sizes)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        self._best_parameters: list[np.ndarray] | None = None  # early stopping's, when it runs
        self._held_out: dict[str, Any] | None = None  # early stopping's split, when it runs
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _check_architecture(self, n_features: int, n_outputs: int) -> None:
        sizes = [n_features, *self._hidden_sizes(), n_outputs]
        have = [self.coefs_[0].shape[0], *[c.shape[1] for c in self.coefs_]]
        if sizes != have:
            raise ValueError(
                f"{type(self).__name__}: the fitted network has layer sizes {have} but the "
                f"parameters and data ask for {sizes}; fit again with warm_start=False"
            )

    def _load_assigned_weights(self) -> None:
        """Bring ``coefs_`` / ``intercepts_`` and the network's parameter arrays together again,
        item by item, whichever side was replaced since they were last tied: an array assigned
        to ``coefs_`` / ``intercepts_`` or to one of their items is copied (in the network's
        dtype) into the parameter (in scikit-learn they are the model, and users set or restore
        weights by assigning them); a parameter whose array was replaced through ``network_``
        (``p.data = ...``, ``layer.weight = nn.Parameter(...)``) is kept, and the lists take its
        array. Where both were replaced, it is refused, naming the item: which
        write is meant cannot be told. Writes into the arrays themselves (``coefs_[0][...] =``,
        ``p.data[...] =``) need nothing: the lists hold the network's very arrays."""
        name, layers = type(self).__name__, self._layers()
        # the arrays as last tied; a model pickled before they were recorded takes coefs_'s
        tied = getattr(self, "_tied_arrays", None)
        pairs, replaced_in_network = [], False
        for slot, attribute in enumerate(("coefs_", "intercepts_")):
            arrays = list(getattr(self, attribute))
            params = [layer.weight if attribute == "coefs_" else layer.bias for layer in layers]
            if len(arrays) != len(params):
                raise ValueError(
                    f"{name}: {attribute} holds {len(arrays)} arrays but the fitted network has "
                    f"{len(params)} layers of connections"
                )
            before = tied[slot] if tied is not None and len(tied[slot]) == len(params) else None
            for index, (array, param) in enumerate(zip(arrays, params)):
                if array is param.data:
                    continue
                if before is not None and array is before[index]:
                    replaced_in_network = True  # only the parameter's array is new: keep it
                    continue
                if before is not None and param.data is not before[index]:
                    part = "weight" if attribute == "coefs_" else "bias"
                    # its place in network_ (as network_ stacks it: units between the layers)
                    shown = _stack(layers, self.activation).layers
                    at = next(i for i, m in enumerate(shown) if m is layers[index])
                    raise ValueError(
                        f"{name}: {attribute}[{index}] was assigned and its layer's {part}, "
                        f"network_[{at}].{part}, was given another array (p.data = ...) since "
                        f"they were last in step: which one is the model cannot be told; assign "
                        f"the values once, either {attribute}[{index}] = values or, through "
                        f"network_, p.data = values"
                    )
                if np.shape(array) != param.data.shape:
                    raise ValueError(
                        f"{name}: {attribute}[{index}] has shape {np.shape(array)} but the fitted "
                        f"network's is {param.data.shape}"
                    )
                pairs.append((param, array))
        for param, array in pairs:  # nothing is replaced until every array fits
            param.data = np.array(array, dtype=param.data.dtype)  # the same Parameter, as .to
        if pairs or replaced_in_network:
            self._tie_weights()

    def _tie_weights(self) -> None:
        # the very arrays the optimizer updates in place, so coefs_ is always the network's;
        # the arrays tied are kept to tell, later, which side was replaced
        layers = self._layers()
        self.coefs_ = [layer.weight.data for layer in layers]
        self.intercepts_ = [layer.bias.data for layer in layers]
        self._tied_arrays = (tuple(self.coefs_), tuple(self.intercepts_))

    def _follow_parameters(self) -> None:
        """A warm start takes ``activation`` and ``dtype`` as they are now, as scikit-learn
        reads ``activation`` at every pass: the same weights (and optimizer) restacked between
        the current units and, where ``dtype`` names another dtype, converted to it."""
        self._network = _stack(self._layers(), self.activation)
        dtype = np.dtype(self._requested_dtype() or self._dtype)
        if dtype != self._dtype:
            self._dtype = dtype
            self._network.to(dtype)
            self._tie_weights()

    def _make_optimizer(self) -> optim.Optimizer:
        params = self._network.parameters()
        lr = float(self.learning_rate_init)
        if self.solver == "sgd":
            nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
            return optim.SGD(params, lr=lr, momentum=float(self.momentum), nesterov=nesterov)
        if self.solver == "rmsprop":
            return optim.RMSprop(params, lr=lr, alpha=float(self.rho), eps=float(self.epsilon))
        return optim.Adam(params, lr=lr, betas=(self.beta_1, self.beta_2), eps=float(self.epsilon))

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples and distributed.world().is_main:  # once for a job
            warnings.warn(  # scikit-learn's words first, for its filters (they match the start)
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                f"clipped ({type(self).__name__}: batch_size {self.batch_size} is larger than "
                f"the {n_samples} samples; using {n_samples})",
                UserWarning,
                stacklevel=5,
            )
        return min(int(self.batch_size), n_samples)

    def _train(
        self, X: np.ndarray, Y: np.ndarray, weights: np.ndarray | None, incremental: bool,
        seed: int | None,
    ) -> None:  # fmt: skip
        early_stopping = self.early_stopping  # never with partial_fit (_fit refuses it)
        X_val = Y_val = weights_val = None
        self.n_iter_ = 0  # as scikit-learn: the epochs of this call (a warm start's too)
        # as scikit-learn, a warm start keeps the count of epochs without improvement, the best
        # validation score and its weights (set when the network was made): the new epochs
        # must beat the earlier ones
        if early_stopping:
            if self.validation_scores_ is None:  # warm start after a fit without it
                self.validation_scores_ = []
            if self.best_validation_score_ is None:
                self.best_validation_score_ = -np.inf
            if getattr(self, "_best_parameters", None) is None:
                self._best_parameters = [a.copy() for a in self.coefs_ + self.intercepts_]
            X, X_val, Y, Y_val, weights, weights_val = self._validation_split(X, Y, weights, seed)
        n_samples = X.shape[0]
        batch = self._batch_size(n_samples)
        max_iter = 1 if incremental else self.max_iter
        world = distributed.world()  # several ranks: each takes its block of every batch
        world.check_same("training setup", {
            "cases": n_samples, "shape": X.shape[1:] + Y.shape[1:],
            "data": world.size > 1 and distributed.fingerprint(*_given(X, Y, weights)),
            # all but the seed, which rank 0 gives everyone, and what only prints
            **{key: value for key, value in self.get_params(deep=False).items()
               if key not in ("random_state", "verbose")},
        })  # fmt: skip
        try:  # Ctrl-C stops between two steps (several ranks: at the same one)
            with world.deferring_interrupts():
                self._epochs(
                    (X, Y, weights), (X_val, Y_val, weights_val), batch, max_iter, incremental,
                    world,
                )  # fmt: skip
        except KeyboardInterrupt:  # as scikit-learn: the model keeps what it learnt
            warnings.warn("Training interrupted by user.", stacklevel=3)
        if early_stopping:
            for array, best in zip(self.coefs_ + self.intercepts_, self._best_parameters):
                array[...] = best
        if not self._weights_finite():  # scikit-learn's words, then what happened
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                f"values and need to be preprocessed. ({type(self).__name__}: the weights became "
                f"NaN or infinite in epoch {self.n_iter_}, loss_ = {self.loss_}; scale the "
                "inputs, e.g. with StandardScaler, or lower learning_rate_init)"
            )

    def _epochs(self, training, validation, batch, max_iter, incremental, world) -> None:
        """Up to ``max_iter`` epochs of mini-batch steps, each followed by scikit-learn's
        stopping rules. ``training`` and ``validation`` are ``(X, Y, sample weights or None)``.

        With weights, a batch whose weights are all 0 takes no step and counts in no epoch's
        loss (scikit-learn's divides by their sum and raises ZeroDivisionError)."""
        X, Y, weights = training
        n_samples = X.shape[0]
        for _ in range(max_iter):
            order = self._random.permutation(n_samples) if self.shuffle else np.arange(n_samples)
            total, counted = 0.0, 0
            for start in range(0, n_samples, batch):
                if world.stops_between_steps:  # a Ctrl-C noted in a step
                    world.stop_between(f"stopped in epoch {self.n_iter_ + 1}")
                rows = order[start : start + batch]
                local = world.shard(rows)
                if weights is None:
                    loss = self._step(X[local], Y[local], len(rows))
                else:  # the batch's sum of weights: the whole batch's, on every rank
                    weight = float(weights[rows].sum())
                    if not weight:  # nothing to learn from
                        continue
                    loss = self._step(X[local], Y[local], weight, weights[local])
                total += loss * len(rows)
                counted += len(rows)
            self.n_iter_ += 1
            self.t_ += n_samples
            self.loss_ = total / counted if counted else 0.0
            self.loss_curve_.append(self.loss_)
            self._say(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                self._optimizer.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
            if world.decide(not self._weights_finite()):  # no epoch brings them back
                break
            self._update_no_improvement_count(self.early_stopping, *validation)
            # 'adaptive' sgd cuts the learning rate instead of stopping; cut in the last epoch,
            # the run still ends unconverged, and warns below as scikit-learn's does
            stalled = world.decide(self._no_improvement_count > self.n_iter_no_change)
            if stalled and not self._reduce_learning_rate():
                self._say(f"Training loss did not improve more than tol={self.tol} for "
                          f"{self.n_iter_no_change} consecutive epochs. Stopping.")  # fmt: skip
                break
            if not incremental and self.n_iter_ == self.max_iter and world.is_main:
                warnings.warn(  # once for a parallel job; scikit-learn's words first, for
                    # its filters (they match the start), then the estimator's
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                    "the optimization hasn't converged yet. "
                    f"({type(self).__name__}: stopped after max_iter={self.max_iter} iterations)",
                    ConvergenceWarning,
                    stacklevel=5,
                )

    def _weights_finite(self) -> bool:
        return all(np.isfinite(array).all() for array in self.coefs_ + self.intercepts_)

    def _reduce_learning_rate(self) -> bool:
        """scikit-learn's 'adaptive' sgd: divide lr by 5 instead of stopping, until it is tiny."""
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            return False
        if self._optimizer.lr <= 1e-6:
            return False
        self._optimizer.lr /= 5.0
        self._no_improvement_count = 0
        self._say(f"Setting learning rate to {self._optimizer.lr:f}")
        return True

    def _say(self, line: str) -> None:
        """Print a ``verbose`` line as scikit-learn does, once per run (rank 0's under MPI)."""
        if self.verbose and distributed.world().is_main:
            print(line)

    def _step(
        self, X: np.ndarray, Y: np.ndarray, cases: float | None = None,
        weights: np.ndarray | None = None,
    ) -> float:  # fmt: skip
        """One weight change from the gradient of one mini-batch of ``cases`` cases (of which
        ``X`` is this rank's block under MPI); returns the batch's loss as scikit-learn reports
        it (``_reported_loss``: ``tol`` compares these), plus the penalty.

        ``weights``: the sample weights of ``X``'s cases, and ``cases`` then the whole batch's
        sum of them. As in scikit-learn's MLP, each case's output delta is multiplied by its
        weight and the data loss's gradient and the penalty are over the sum of the weights
        (not the number of cases)."""
        self._optimizer.zero_grad()
        world, value = distributed.world(), 0.0
        share = len(X) if weights is None else float(weights.sum())  # this block's cases
        if share or world.size == 1:
            output = self._network(Tensor(X))
            value = self._reported_loss(np.asarray(output.data), Y, weights)
            if weights is None:
                loss = self._loss()(output, Y)  # the data loss: loss_function_, no second copy
            else:  # loss_function_'s output delta (a mean's, over len(X)) times n * w / sum(w)
                at = Tensor(output.data, requires_grad=True)
                self._loss()(at, Y).backward()
                scale = (len(X) / share) * weights
                output.backward(at.grad * scale.astype(at.grad.dtype)[:, None])
                loss = None
            if self.alpha:  # L2 penalty over the whole batch's size, as in one process
                squares = sum((layer.weight * layer.weight).sum() for layer in self._layers())
                penalty = squares * (self.alpha / (2.0 * (cases or X.shape[0])))
                loss = penalty if loss is None else loss + penalty
                value += float(penalty.item())
            if loss is not None:
                loss.backward()
        if world.size > 1:
            value = distributed.average_gradients(self._network, cases=share, loss=value)
        self._optimizer.step()
        return value

    def _layers(self) -> list[nn.Linear]:
        return _linear_layers(self._network)

    def _update_no_improvement_count(
        self, early_stopping: bool, X_val: Any, Y_val: Any, weights_val: Any = None
    ) -> None:
        if early_stopping:
            if weights_val is None:
                score = self._validation_score(X_val, Y_val)
            else:
                score = self._validation_score(X_val, Y_val, weights_val)
            self.validation_scores_.append(score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_parameters = [a.copy() for a in self.coefs_ + self.intercepts_]
        else:
            if self.best_loss_ is None:  # partial_fit on a model set up for early stopping
                self.best_loss_ = np.inf
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _validation_size(self, n_samples: int) -> int:
        """The rows early stopping holds out of ``n_samples``, as train_test_split counts them;
        refused (before fit changes anything) where too few are held out or too few left."""
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        if n_val >= n_samples:
            raise ValueError(
                f"{type(self).__name__}: early stopping holds out {n_val} of n_samples="
                f"{n_samples} (validation_fraction={self.validation_fraction}), which leaves none "
                "to train on; lower validation_fraction or give more samples"
            )
        if n_val < 2:  # one case's R^2 is NaN: no epoch would ever look better
            raise ValueError(
                f"The validation set is too small ({n_val} case). Increase "
                "'validation_fraction' or the size of your dataset."
            )
        return n_val

    def _validation_split(self, X: np.ndarray, Y: np.ndarray, weights: Any, seed: int):
        """Early stopping's training and validation parts of ``X, Y`` and of the sample
        ``weights`` (None, or split as the cases are). The split has a generator
        of its own, seeded from the fit's ``seed`` apart from the weights' and the shuffles'
        (an int ``random_state`` holds out the same cases whatever the network's size), and a
        warm fit on the same data (the same ``X`` and ``y``, ``validation_fraction``) holds out
        the cases the earlier fit held out, whatever ``random_state``: drawn afresh, most of
        them would be cases the network was trained on, scored against a best score measured
        on other cases. A warm fit that must hold out others (other data) forgets that best
        score and its weights, and warns; so does one on the same data with other
        ``sample_weight`` (the best score was weighted otherwise), holding out the same cases."""
        # the arrays as given (no float64 copy of X: a GB of it hashes in about a second); a
        # dtype changed since counts as other data, so the best score is forgotten, warning
        data = distributed.fingerprint(X, Y)
        record = {"fingerprint": data, "validation_fraction": self.validation_fraction}
        weighed = None if weights is None else distributed.fingerprint(weights)
        kept = getattr(self, "_held_out", None)  # None: a first fit, or an older pickle
        if kept is not None and all(kept[key] == value for key, value in record.items()):
            train, held = kept["train"], kept["validation"]
            # a record without sample_weight: fitted unweighted, or before weights were taken
            if kept.get("sample_weight") != weighed and np.isfinite(self.best_validation_score_):
                self._forget_best_validation(kept, record, reweighted=True)
        else:
            split_seed = int(np.random.SeedSequence(seed, spawn_key=(1,)).generate_state(1)[0])
            train, held = train_test_split(
                np.arange(len(X)), test_size=self.validation_fraction, random_state=split_seed,
                stratify=self._stratify(Y),
            )  # fmt: skip
            if np.isfinite(self.best_validation_score_):  # scored on cases held out no more
                self._forget_best_validation(kept, record)
        self._held_out = {**record, "sample_weight": weighed, "train": train, "validation": held}
        if weights is None:
            return X[train], X[held], Y[train], Y[held], None, None
        for part, cases in (("held out for early stopping", held), ("left to train on", train)):
            if not weights[cases].any():  # no weighted score, or nothing to learn from
                raise ValueError(
                    f"{type(self).__name__}: the {len(cases)} cases {part} (validation_fraction"
                    f"={self.validation_fraction}) all have sample_weight 0; give more cases "
                    "weight, or fit without early_stopping"
                )
        return X[train], X[held], Y[train], Y[held], weights[train], weights[held]

    def _forget_best_validation(
        self, kept: dict[str, Any] | None, record: dict[str, Any], reweighted: bool = False
    ) -> None:
        """A warm fit that holds out other cases than the earlier fit held out: the earlier
        best validation score was measured on cases this fit trains on (``reweighted``: on
        the same cases, weighted otherwise). Forget it and its weights (early stopping starts
        afresh from the weights as they are), saying why."""
        name, best = (
            type(self).__name__,
            f"best_validation_score_ ({self.best_validation_score_:.4g})",
        )
        if reweighted:
            said = (
                f"{name}: this warm fit's sample_weight is not the one it was fitted with, so "
                f"{best}, weighted otherwise, and its weights are forgotten: early stopping "
                "starts afresh from the weights as they are, on the same held-out cases"
            )
        else:
            if kept is None:
                why = "the cases it held out are not recorded (pickled by an older chainrule)"
            elif kept["validation_fraction"] != record["validation_fraction"]:
                why = (
                    f"validation_fraction is {record['validation_fraction']}, not "
                    f"{kept['validation_fraction']}"
                )
            else:
                why = "X or y is not the data it was fitted on"
            said = (
                f"{name}: this warm fit holds out other cases for early stopping than the "
                f"earlier fit ({why}), so {best}, scored on cases it now trains on, and its "
                "weights are forgotten: early stopping starts afresh from the weights as they are"
            )
        if distributed.world().is_main:  # once for a job
            warnings.warn(said, UserWarning, stacklevel=user_stacklevel())
        self.best_validation_score_ = -np.inf
        self._best_parameters = [a.copy() for a in self.coefs_ + self.intercepts_]
        self._no_improvement_count = 0

    def _loss(self) -> nn.Loss:
        """The chainrule loss whose value and gradient are the training's data loss (each
        estimator's own; :attr:`loss_function_` gives it after a fit)."""
        raise NotImplementedError

    @property
    def loss_function_(self) -> nn.Loss:
        """The :mod:`chainrule.nn` loss the fit descends, exactly: its value and gradient on
        ``network_``'s outputs are the training's data loss (``alpha``'s penalty on the weights
        comes on top of it). ``nn.CrossEntropy()`` for several classes,
        ``nn.BinaryCrossEntropy(per_unit=False)`` (the cross-entropy of each logistic unit,
        summed over the units, averaged over the cases) for two classes and multilabel targets,
        ``nn.SquaredError("mean")`` (half the squared error, summed over the outputs, averaged
        over the cases) for a regressor (a fit with ``sample_weight`` weighs each case's part of
        it: w_i / sum(w) where the loss has 1 / n). Give it with ``network_`` to
        ``chainrule.explain`` for the gradients training follows, or to ``io.save_model``. Not
        ``loss_``, scikit-learn's last reported value of the loss."""
        check_is_fitted(self, "coefs_")
        return self._loss()

    # -- predicting ----------------------------------------------------------------------------
    @property
    def network_(self) -> nn.Sequential:
        """The fitted chainrule network that ``predict`` runs: the fitted ``Linear`` layers (the
        very parameters ``coefs_`` and ``intercepts_`` hold) between ``activation``'s units, its
        outputs the output units' total inputs; ``predict_proba`` puts them through
        ``out_activation_``. To explain, draw or save it with the loss it was trained on,
        :attr:`loss_function_`, e.g. ``chainrule.io.save_model(path, clf.network_,
        loss=clf.loss_function_, class_names=[str(c) for c in clf.classes_])`` (see the
        module's docstring).

        A write of its weights is the model's: in place (``p.data[...] = v``,
        ``load_state_dict``, ``nn.vector_to_parameters``) ``coefs_`` sees it at once; a new array
        (``p.data = v``) is what ``predict`` runs, and ``coefs_`` / ``intercepts_`` hold it from
        the estimator's next use (``predict``, ``score``, ``fit``, ``network_``). Replacing the
        same layer's array both there and in ``coefs_`` between two uses is refused: say once
        which values are meant."""
        check_is_fitted(self, "coefs_")
        self._load_assigned_weights()
        return _stack(self._layers(), self.activation)

    def _forward(self, X: Any) -> np.ndarray:
        """The network's output units (after softmax / logistic / identity) for ``X``, in X's
        float dtype (float32 input gives float32 outputs, anything else float64)."""
        logits, dtype = self._logits(X)
        return output_units(self.out_activation_, logits).astype(dtype, copy=False)

    def _logits(self, X: Any) -> tuple[np.ndarray, np.dtype]:
        """The top layer's outputs for ``X``, before the output units, and X's float dtype
        (what :meth:`_forward` gives its outputs in)."""
        check_is_fitted(self, "coefs_")
        # as scikit-learn's predict, the hidden units are activation's as it is now (set_params
        # after fit changes them); the same weights, restacked
        self._check_choice("activation", ACTIVATIONS)
        X = _validated(self, X, reset=False, dtype=[np.float64, np.float32])
        network = self.network_
        with no_grad():
            logits = network(Tensor(X.astype(self._dtype, copy=False))).data
        return np.asarray(logits), X.dtype

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags
