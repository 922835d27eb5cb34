"""scikit-learn estimators backed by chainrule: :class:`MLPClassifier` and :class:`MLPRegressor`.

They take scikit-learn's own MLP parameters (``hidden_layer_sizes``, ``activation``, ``solver``,
``alpha``, ``batch_size``, ``learning_rate_init``, ``momentum``, ``early_stopping`` ...) and
set the same fitted attributes (``coefs_``, ``intercepts_``, ``loss_curve_``, ``n_iter_``,
``classes_``, ``n_features_in_``), so they drop into pipelines, grid searches and
cross-validation; the network underneath is a :mod:`chainrule.nn` network trained by a
:mod:`chainrule.optim` optimizer, and each gradient comes from chainrule's backward pass.
As in scikit-learn, a fit on a DataFrame whose column names are all strings sets
``feature_names_in_`` to them, and ``predict``, ``predict_proba`` and ``score`` then refuse a
DataFrame whose columns have other names or another order ("The feature names should match
those that were passed during fit") and warn for an array without names (scikit-learn's
``validate_data`` does both; pandas is not needed otherwise).
After a fit, ``network_`` is that network (the model ``predict`` runs, sharing ``coefs_``'s
arrays; its outputs are the output units' total inputs), and ``loss_function_`` the
:mod:`chainrule.nn` loss the fit descends, exactly (its value and gradient are the training's
data loss; ``alpha``'s penalty comes on top; a fit with ``sample_weight`` weighs each case's
part of it), for chainrule's tools: explain them
(``cr.explain(clf.network_, x, t, clf.loss_function_)`` gives the gradients training follows),
draw the network, or save it for the ``chainrule`` command line::

    t = np.searchsorted(clf.classes_, y)  # class labels ("setosa", ...) as class numbers
    cr.explain(clf.network_, x, t, clf.loss_function_)
    io.save_model("iris-model", clf.network_, loss=clf.loss_function_,
                  class_names=[str(c) for c in clf.classes_])

(The losses take class numbers, not labels: ``np.searchsorted(clf.classes_, y)`` numbers each
label by its place in ``classes_``, which is sorted and is the order of the output units (for
two classes, 0 for ``classes_[0]`` and 1 for ``classes_[1]``, the one unit's target), as the
fit numbered them; it gives a wrong number, silently, for a label not in ``classes_``, so
check ``np.isin(y, clf.classes_).all()`` first. A multilabel ``y``, a 0/1 matrix, is taken as
it is; a regressor's ``y`` too.)

(``loss_function_`` is ``nn.CrossEntropy()`` for several classes;
``nn.BinaryCrossEntropy(per_unit=False)``, each logistic output unit's cross-entropy summed
over the units and averaged over the cases, for two classes or multilabel targets;
``nn.SquaredError("mean")``, half the squared error summed over the outputs and averaged over
the cases, for a regressor: not ``nn.MSE()`` nor the default ``nn.BinaryCrossEntropy()``,
whose means over the units too give other gradients.) The network keeps no column names: after
a fit on a DataFrame, add ``meta={"feature_names": list(clf.feature_names_in_)}`` and the model
file records them, and ``chainrule predict`` and ``evaluate`` refuse a CSV file whose header
names the columns otherwise or in another order. Trained in a pipeline behind a
``StandardScaler``, give the fitted scaler too, ``standardizer=pipe[0]``: the model file records
its ``mean_`` and ``scale_``, and ``chainrule predict`` scales the rows as the pipeline does.

A parameter ``fit`` refuses raises :class:`InvalidParameterError`, a ``ValueError`` and a
``TypeError`` as scikit-learn's is; the warnings of a run that stops at ``max_iter``
(``ConvergenceWarning``) and of a ``batch_size`` larger than the data begin with
scikit-learn's words, so filters written for scikit-learn's
(``warnings.filterwarnings("ignore", message="Stochastic Optimizer")``) take them, and go on
with the estimator's own.

Differences from ``sklearn.neural_network``, on purpose:

- ``activation`` defaults to ``"logistic"`` (scikit-learn's default is ``"relu"``): these are
  networks of logistic units unless you say otherwise.
- ``solver`` is ``"sgd"``, ``"adam"`` or ``"rmsprop"`` (Hinton's lecture 6e, decay ``rho``);
  there is no ``"lbfgs"``, and so no ``max_fun`` (lbfgs's limit on loss evaluations): passing
  it is scikit-learn's "unexpected keyword" TypeError. ``partial_fit`` works with every solver.
- ``MLPRegressor``'s ``loss`` is its first parameter, as in scikit-learn (1.9), so
  ``MLPRegressor((10,))`` sets ``loss``: give ``hidden_layer_sizes`` by name. Only
  ``"squared_error"`` is taken; scikit-learn's ``"poisson"`` is refused.
- ``dtype`` (None, ``"float32"``, ``"float64"``, or NumPy's ``np.float32`` / ``np.float64`` /
  their ``np.dtype``): None follows the input (float32 input trains in float32, anything else in
  float64, as scikit-learn's MLP does).
- ``epsilon`` (Adam) is PyTorch's: the step divides by sqrt(v_hat) + epsilon, with v_hat
  bias-corrected; scikit-learn divides by sqrt(v) + epsilon and corrects the learning rate
  instead, which amounts to epsilon * sqrt(1 - beta_2^t) in this form (a small difference with
  the default epsilon, growing with it).
- ``partial_fit`` refuses ``early_stopping=True``, as scikit-learn does (one epoch has no
  held-out part to watch).
- With ``early_stopping=True``, ``MLPClassifier`` holds out a stratified validation split
  (each class in the same share in both parts) for several classes as well as for two, where
  scikit-learn's (1.9) stratifies only two classes and splits several at random; a class of
  one case, more classes than held-out cases, or a multilabel ``y`` gets a plain random split
  here, where scikit-learn's raises for two classes one of which has a single case. No
  parameter gives scikit-learn's unstratified split: stratifying keeps a small class in both
  parts, so the validation accuracy that early stopping watches sees it. The held-out cases
  are drawn from ``random_state`` by chainrule's own generator, so they are not
  scikit-learn's cases even for two classes; it is the split's alone (not the weights'), so
  one ``random_state`` holds out the same cases for networks of any size.
- A warm ``fit`` (``warm_start=True``) with early stopping holds out the cases the earlier fit
  held out, whatever ``random_state`` (None too), where the data (``X`` and ``y``) and
  ``validation_fraction`` are the same: the best validation score and its weights carry
  over (as in scikit-learn), and they were measured on those cases. scikit-learn's (1.9)
  draws the split again at every fit, so a warm fit scores its epochs on cases it had
  trained on (a split drawn again here gave 0.76-0.84 accuracy on noise labels, where 0.5 is
  honest).
  A warm fit on other data or with another ``validation_fraction`` holds out other cases, and
  so forgets the earlier best score and its weights (early stopping starts afresh from the
  weights as they are), with a ``UserWarning`` that says why.
- ``MLPClassifier.fit`` refuses ``y`` of one class, naming it (scikit-learn's fits a network
  whose every answer is that class; a cross-validation split of class-sorted data then scores
  NaN here, so shuffle the data or use a stratified split).
- ``X`` must be dense: a sparse matrix is refused with scikit-learn's message ("Use
  '.toarray()'") and the step that makes X dense inside a pipeline, where ``.toarray()``
  cannot be called (``methodcaller`` from :mod:`operator`, ``FunctionTransformer`` from
  ``sklearn.preprocessing``)::

      make_pipeline(TfidfVectorizer(),
                    FunctionTransformer(methodcaller("toarray"), accept_sparse=True),
                    MLPClassifier())

  A fitted pipeline with it pickles and runs in ``GridSearchCV(n_jobs=2)``; with a lambda in
  its place it runs, but ``pickle.dumps`` of the pipeline fails.
- ``sample_weight`` (``fit``, ``partial_fit``; the classifier's ``partial_fit(X, y,
  sample_weight=None, classes=None)`` in scikit-learn's order) weighs the cases as
  scikit-learn's MLP (1.7+) does, but refuses a negative weight, naming its row (scikit-learn's
  takes it and descends a loss that rewards that case's errors); NaN, infinite, all-zero and
  wrong-length weights are refused in both. A mini-batch whose weights are all 0 takes no
  step and counts in no epoch's ``loss_`` (scikit-learn's divides by their sum and raises
  ZeroDivisionError), and with ``early_stopping`` a held-out or training part whose weights
  are all 0 is refused when the split is drawn (scikit-learn's raises in its scoring). A
  warm ``fit`` with early stopping and other weights keeps the held-out cases but forgets the
  best validation score, weighted otherwise, warning.
- A ``fit`` or ``partial_fit`` that raises (a bad parameter, ``random_state`` or ``y``, a
  validation split too small for early stopping) leaves a fitted model exactly as it was: every
  check comes before the first change (scikit-learn's may have replaced ``classes_``,
  ``n_features_in_`` or the weights by then).

As in scikit-learn, ``predict`` reads ``activation`` as it is now: ``set_params(activation=...)``
after a fit puts the fitted weights between the new hidden units.

An estimator pickles (``pickle``, ``joblib``) as scikit-learn's do, and its pickle records the
chainrule version that wrote it: another version reading it warns, naming both
(:class:`InconsistentVersionWarning`, a subclass of scikit-learn's own, which its filters
take), as scikit-learn warns of its own versions. One pickled by an older chainrule (before
that record) warns too, and reads with the fields added since filled in from what it holds:
it predicts as it did, and a warm start goes on from it. A pickle is for moving an estimator
between programs of one installation, not for keeping it: keep a trained network in
chainrule's model files (``io.save_model``, above), a versioned format of their own.

The losses are scikit-learn's: mean cross-entropy over cases (softmax for several classes, logistic
units for two classes and for multilabel targets, summed over the output units); for regression half
the squared error summed over the outputs and averaged over the cases (the loss scikit-learn
descends); plus ``alpha / (2 * batch) * sum(W**2)`` over the weights (not the biases). With
``sample_weight`` the mean over a batch's cases is their weighted mean and ``batch`` the sum of
their weights, as in scikit-learn: each case's output delta (the gradient of ``loss_function_``
there) is multiplied by its weight, so integer weights train as repeated rows in full-batch descent
and a weight of 0 drops its row; a constant weight c leaves the data term as it is and divides the
penalty by c. ``loss_`` and ``loss_curve_`` report what scikit-learn reports, computed as it
computes them, so ``tol`` stops at the same point: for regression the data term divided by the
number of outputs; for classification its log loss, which clips the probabilities to [eps, 1 - eps]
(eps of the dtype), so a confidently wrong answer counts at most -log(eps) (36.04 in float64, 15.94
in float32) per case (per output unit for logistic outputs), where the exact cross-entropy grows
without bound. Only the reported number is clipped: the gradient is the exact cross-entropy's, as
scikit-learn's is.
The weights start as scikit-learn's do: Glorot uniform with bound sqrt(6 / (fan_in + fan_out)),
sqrt(2 / ...) for logistic units, biases from the same range. Given ``random_state`` an int,
fitting is deterministic.

>>> from sklearn.datasets import load_iris
>>> from chainrule.sklearn import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(10,), max_iter=300, random_state=0).fit(X, y)
"""

from chainrule.errors import extras_needed_by

with extras_needed_by("chainrule.sklearn"):  # scikit-learn (and its scipy): the [app] extra
    # _GlorotUniform: where a pickle of a chainrule before this package (one module then)
    # names the initialiser of its networks' layers
    from chainrule.sklearn.base import InconsistentVersionWarning, InvalidParameterError
    from chainrule.sklearn.base import _GlorotUniform as _GlorotUniform
    from chainrule.sklearn.estimators import MLPClassifier, MLPRegressor

__all__ = ["InconsistentVersionWarning", "InvalidParameterError", "MLPClassifier", "MLPRegressor"]
