"""The two estimators on their shared base (:mod:`chainrule.sklearn.base`): how each reads its
targets, which loss it descends, and what it predicts."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import xlogy
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from chainrule import nn
from chainrule.engine import no_grad
from chainrule.sklearn.base import BaseMLP, InvalidParameterError, output_units, positional_hint
from chainrule.tensor import Tensor
from chainrule.train.metrics import predicted_classes, units_on

#: MLPRegressor's ``loss`` values (scikit-learn's also has "poisson", which is refused)
REGRESSION_LOSSES = ("squared_error",)


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multilayer network of logistic units (by default) trained as a classifier.

    Two classes: one logistic output unit and cross-entropy; more: softmax outputs; a 2-D 0/1
    ``y`` (multilabel): one logistic unit per label. ``predict_proba`` gives the output units'
    probabilities. See the module docstring for the parameters; they mean what they mean in
    ``sklearn.neural_network.MLPClassifier``, except that ``activation`` defaults to
    ``"logistic"``. As there, a warm pass (``warm_start=True``, a ``fit`` or a ``partial_fit``)
    needs ``y`` to hold exactly the classes of the first fit, and a ``partial_fit`` without it
    any of them.

    With ``early_stopping=True`` the ``validation_fraction`` held out is a stratified split,
    each class in the same share in both parts, for several classes as well as for two:
    scikit-learn's MLPClassifier (1.9) stratifies two classes only and holds out several at
    random. Where a stratified split cannot be made (a class of one case, more classes than
    held-out cases or than cases left to train on) and for a multilabel ``y``, the split is a
    plain random one (scikit-learn's raises for two classes, one of a single case). No
    parameter turns the stratification off: it keeps a small class in the validation accuracy
    that early stopping watches. A warm ``fit`` on the same data holds out the cases the
    earlier fit held out (see the module docstring), so its epochs are scored on cases no fit
    trained on.
    """

    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """One epoch over ``X, y`` from where the last call left off (weights and optimizer).

        ``classes`` (every class that will ever appear) is required on the first call.
        ``sample_weight`` weighs the cases as in :meth:`fit`; it comes before ``classes``, as
        in scikit-learn's (1.9) ``partial_fit(X, y, sample_weight=None, classes=None)``.
        """
        self._check_partial_fit()  # a parameter no argument can mend is named first
        if not hasattr(self, "coefs_") and classes is None:
            said = "MLPClassifier.partial_fit: pass classes= (all the classes) on the first call"
            if sample_weight is not None:  # partial_fit(X, y, classes) as before scikit-learn 1.7
                said += (
                    "; the third positional parameter is sample_weight, as in scikit-learn, "
                    "so give the classes by name"
                )
            raise ValueError(said)
        if (
            hasattr(self, "coefs_")
            and classes is not None
            and not np.array_equal(unique_labels(classes), self.classes_)
        ):
            raise ValueError(
                f"MLPClassifier.partial_fit: classes={_plain_labels(unique_labels(classes))} is "
                f"not the same as on the first call ({_plain_labels(self.classes_)})"
            )
        if hasattr(self, "coefs_") and classes is None and _the_classes(sample_weight, self):
            warnings.warn(  # partial_fit(X, y, classes) as before scikit-learn 1.7's order
                f"MLPClassifier.partial_fit: sample_weight={_plain_labels(self.classes_)} is "
                "the classes; the third positional parameter is sample_weight, as in "
                "scikit-learn, so these are read as weights: give the classes by name",
                UserWarning,
                stacklevel=2,
            )
        return self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    def _validate_input(self, X: Any, y: Any, reset: bool, incremental: bool, classes: Any):
        """X and the binarized y in the training dtype, and (``reset``) the attributes a first
        fit sets, for ``_fit`` to set once every check has passed."""
        X, y, fitted = self._checked_data(
            X, y, reset, multi_output=True, dtype=[np.float64, np.float32]
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if type_of_target(y) == "multiclass-multioutput":
            raise ValueError(
                "MLPClassifier: multioutput target data is not supported with label "
                "binarization: a 2-D y must be a 0/1 indicator matrix (multilabel), and this one "
                f"holds {np.unique(y)[:10].tolist()}; fit one classifier per column (e.g. "
                "sklearn.multioutput.MultiOutputClassifier)"
            )
        if reset:
            labels = unique_labels(y) if classes is None else unique_labels(classes)
            if classes is not None and not set(unique_labels(y)) <= set(labels):
                raise ValueError(
                    f"MLPClassifier: y holds labels "
                    f"{_plain_labels(sorted(set(unique_labels(y)) - set(labels)))} "
                    f"that are not in classes={_plain_labels(labels)}"
                )
            binarizer = LabelBinarizer().fit(labels if y.ndim == 1 else y)
            if y.ndim == 1 and len(binarizer.classes_) < 2:
                raise ValueError(
                    f"MLPClassifier: y has only one class "
                    f"({_plain_labels(binarizer.classes_)[0]!r}); a classifier needs at least 2 "
                    "classes"
                )
            multiclass = y.ndim == 1 and len(binarizer.classes_) > 2
            fitted.update(
                _label_binarizer=binarizer,
                classes_=binarizer.classes_,
                out_activation_="softmax" if multiclass else "logistic",
            )
        elif self.warm_start:  # scikit-learn's rule: a warm pass sees exactly the classes_
            labels = unique_labels(y)
            if set(labels) != set(self.classes_):
                raise ValueError(
                    "MLPClassifier: warm_start can only be used where `y` has the same classes "
                    f"as in the previous call to fit. Previously got "
                    f"{_plain_labels(self.classes_)}, `y` has {_plain_labels(labels)}; fit with "
                    "warm_start=False to start afresh (partial_fit with "
                    "warm_start=False takes a batch that lacks some classes)"
                )
        elif y.ndim == 1 and self._label_binarizer.y_type_ == "multilabel-indicator":
            # binarized as labels, a 0/1 vector would become one-hot rows of the label columns
            raise ValueError(
                f"MLPClassifier: y is one label per case, but the first fit's y was a multilabel "
                f"indicator matrix of {len(self.classes_)} columns; give a 0/1 matrix of "
                f"shape (cases, {len(self.classes_)})"
            )
        elif y.ndim == 1:
            unseen = set(unique_labels(y)) - set(self.classes_)
            if unseen:
                raise ValueError(
                    f"MLPClassifier: y holds labels {_plain_labels(sorted(unseen))} not seen "
                    f"in the first fit; classes_ is {_plain_labels(self.classes_)}"
                )
        binarizer = fitted["_label_binarizer"] if reset else self._label_binarizer
        dtype = self._requested_dtype() or X.dtype
        return X.astype(dtype, copy=False), binarizer.transform(y).astype(dtype), fitted

    def _loss(self) -> nn.Loss:
        """The loss of the output units: cross-entropy from the logits, through softmax or
        through each logistic unit, summed over the units and averaged over the cases (as
        scikit-learn sums it; BinaryCrossEntropy's default averages over the units too)."""
        if self.out_activation_ == "softmax":
            return nn.CrossEntropy()
        return nn.BinaryCrossEntropy(per_unit=False)

    def _decided(self, logits: np.ndarray) -> np.ndarray:
        """The labels ``logits`` predict, decided as ``chainrule evaluate`` decides them
        (:func:`~chainrule.train.metrics.predicted_classes`, ``units_on``): on the logits, so
        that a float32 logit of 1e-9, whose probability rounds to 0.5, is the positive class."""
        loss = self._loss()
        if self.out_activation_ == "softmax":
            on = np.eye(logits.shape[1], dtype=logits.dtype)[predicted_classes(logits, loss)]
        else:  # each logistic unit on or off: binary (one unit) and multilabel alike
            on = units_on(logits, loss).astype(logits.dtype)
        return self._label_binarizer.inverse_transform(on)

    def _reported_loss(self, logits: np.ndarray, Y: np.ndarray, weights: Any = None) -> float:
        """The batch's data loss as scikit-learn reports it (``log_loss`` for softmax outputs,
        ``binary_log_loss`` for logistic ones, in ``sklearn.neural_network._base``): the
        probabilities clipped to [eps, 1 - eps], eps the dtype's, so a confidently wrong case
        counts -log(eps) (36.04 in float64, 15.94 in float32), not its exact cross-entropy;
        averaged over the cases with their sample ``weights`` where given.
        ``tol`` compares these numbers; the gradient stays the exact cross-entropy's, as
        scikit-learn's is (its output delta is p - y, unclipped)."""
        p = output_units(self.out_activation_, logits)
        eps = np.finfo(p.dtype).eps
        p = np.clip(p, eps, 1 - eps)
        terms = xlogy(Y, p)
        if self.out_activation_ == "logistic":  # each unit a two-class case of its own
            terms = terms + xlogy(1 - Y, 1 - p)
        return float(-np.average(terms, axis=0, weights=weights).sum())

    def _stratify(self, Y: np.ndarray) -> Any:
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return None
        labels = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0]
        counts = np.unique(labels, return_counts=True)[1]
        n_val = self._validation_size(len(labels))
        # a stratified split needs two cases of every class and a place for each in both parts
        if counts.min() < 2 or n_val < len(counts) or len(labels) - n_val < len(counts):
            return None
        return labels

    def _validation_score(self, X: np.ndarray, Y: np.ndarray, weights: Any = None) -> float:
        with no_grad():
            logits = np.asarray(self._network(Tensor(X)).data)
        predicted = self._decided(logits)
        truth = self._label_binarizer.inverse_transform(Y)
        return float(accuracy_score(truth, predicted, sample_weight=weights))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order
        (multilabel: one column per label, each that label's probability)."""
        p = self._forward(X)
        if self.out_activation_ == "logistic" and self._label_binarizer.y_type_ == "binary":
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample (multilabel: every label above 0.5), decided
        on the logits: where :meth:`predict_proba` rounds to a tie (a float32 logit of 1e-9
        gives 0.5 and 0.5), the class whose logit is the larger."""
        return self._decided(self._logits(X)[0])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multilayer network of logistic units (by default) with linear outputs, trained on half
    the squared error summed over the outputs and averaged over the cases
    (``loss_function_``, ``nn.SquaredError("mean")``). A 1-D ``y`` (or one column) gives 1-D
    predictions. See the module docstring for the parameters.

    ``loss`` comes first, as in scikit-learn's MLPRegressor (1.9), so ``MLPRegressor((10,))``
    sets it, not ``hidden_layer_sizes``: pass the sizes by name. ``"squared_error"`` is the
    only loss; scikit-learn's ``"poisson"`` (half the Poisson deviance through exponential
    output units) is refused. With ``early_stopping=True`` a warm ``fit`` on the same data
    holds out the cases the earlier fit held out (see the module docstring).
    """

    def __init__(
        self,
        loss: str = "squared_error",
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
        # scikit-learn reads the parameters off this signature: every one is named here
        self.loss = loss
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, rho=rho, n_iter_no_change=n_iter_no_change, dtype=dtype,
        )  # fmt: skip

    def __setstate__(self, state: dict) -> None:
        # pickled before ``loss`` was a parameter: repr, get_params and clone read it
        state = {"loss": "squared_error", **state}
        if "coefs_" in state:  # fitted before the fit set it (a class attribute then)
            state.setdefault("out_activation_", "identity")
        super().__setstate__(state)

    def _check_parameters(self) -> None:
        """``loss`` first: a positional call written for the old signature, ``MLPRegressor((10,))``
        or ``MLPRegressor("relu")``, puts its value there, and that is what to say."""
        loss, name = self.loss, type(self).__name__
        if not (isinstance(loss, str) and loss in REGRESSION_LOSSES):
            said = f"{name}: loss={loss!r} is not one of {', '.join(map(repr, REGRESSION_LOSSES))}"
            if isinstance(loss, str) and loss == "poisson":
                raise InvalidParameterError(
                    f"{said}: scikit-learn's 'poisson' (half the Poisson deviance through "
                    "exponential output units) has no chainrule loss; chainrule's MLPRegressor "
                    "trains on the squared error only"
                )
            hint = positional_hint(self, "loss", loss)
            raise InvalidParameterError(said + (f"; {hint}" if hint else ""))
        super()._check_parameters()

    def _loss(self) -> nn.Loss:
        """Half the squared error, summed over the outputs, averaged over the cases: the loss
        whose gradient scikit-learn follows (its reported loss divides by the number of
        outputs as well: :meth:`_reported_loss`)."""
        return nn.SquaredError("mean")

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``X, y`` from where the last call left off (weights and optimizer);
        ``sample_weight`` weighs the cases as in :meth:`fit`."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _validate_input(self, X: Any, y: Any, reset: bool, incremental: bool, classes: Any):
        """X and a 2-D y in the training dtype, and (``reset``) the attributes a first fit
        sets, for ``_fit`` to set once every check has passed."""
        X, y, fitted = self._checked_data(
            X, y, reset, multi_output=True, y_numeric=True, dtype=[np.float64, np.float32]
        )
        if y.dtype.kind not in "biuf":  # strings: y_numeric converts only object arrays
            raise ValueError(
                f"MLPRegressor: y holds values of dtype {y.dtype} (such as {y.flat[0]!r}), not "
                "numbers; a regressor learns numbers: convert y to floats, or use MLPClassifier "
                "for class labels"
            )
        if reset:
            fitted["out_activation_"] = "identity"
        dtype = self._requested_dtype() or X.dtype
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X.astype(dtype, copy=False), Y.astype(dtype), fitted

    def _reported_loss(self, output: np.ndarray, Y: np.ndarray, weights: Any = None) -> float:
        """The batch's data loss as scikit-learn reports it (its ``squared_loss``): half the
        squared error averaged over the cases (with their sample ``weights`` where given),
        then over the outputs."""
        return float(0.5 * np.average((Y - output) ** 2, axis=0, weights=weights).mean())

    def _stratify(self, Y: np.ndarray) -> None:
        return None

    def _validation_score(self, X: np.ndarray, Y: np.ndarray, weights: Any = None) -> float:
        with no_grad():
            predicted = np.asarray(self._network(Tensor(X)).data)
        return float(r2_score(Y, predicted, sample_weight=weights))

    def predict(self, X: Any) -> np.ndarray:
        """The network's output for each sample: (n_samples,) for one target, else 2-D."""
        y = self._forward(X)
        return y.ravel() if y.shape[1] == 1 else y

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["MLPClassifier", "MLPRegressor"]


def _plain_labels(labels: Any) -> list[Any]:
    """Labels as a message shows them: ``[3, 4]`` or ``['cat']``, not NumPy 2's reprs of its
    scalars (``[np.int64(3)]``)."""
    return [label.item() if isinstance(label, np.generic) else label for label in labels]


def _the_classes(sample_weight: Any, model: Any) -> bool:
    """Whether ``sample_weight`` holds exactly the fitted classes (``partial_fit(X, y,
    classes)`` written before scikit-learn 1.7 put sample_weight third): weights whose
    number differed from the rows' were refused without a word of classes, and ones that
    matched were taken as weights."""
    if sample_weight is None or np.ndim(sample_weight) != 1:
        return False
    given = np.asarray(sample_weight)
    return len(given) == len(model.classes_) and bool(np.all(given == model.classes_))
