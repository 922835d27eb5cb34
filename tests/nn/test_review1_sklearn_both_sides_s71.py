"""Review 1 of s71: where coefs_[1] and the network's array for it were both replaced, the
refusal named "the network's layer 1 weight" by coefs_'s index, but network_[1] is the
activation (Tanh) between the layers: it names the layer's place in network_, network_[2]."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris

from chainrule.sklearn import MLPClassifier


@pytest.mark.parametrize(
    "activation, attribute, index, at, part",
    [
        ("tanh", "coefs_", 1, 2, "weight"),
        ("tanh", "intercepts_", 1, 2, "bias"),
        ("tanh", "coefs_", 0, 0, "weight"),
        ("identity", "coefs_", 1, 1, "weight"),  # no units between the layers
    ],
)
def test_both_sides_replaced_names_the_layers_place_in_network_(
    activation, attribute, index, at, part
):
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged: beside the point
        clf = MLPClassifier(hidden_layer_sizes=(4,), activation=activation, max_iter=5,
                            random_state=0).fit(X, y)  # fmt: skip
    net = clf.network_
    param = getattr(net[at], part)
    assert param.data is getattr(clf, attribute)[index]  # network_[at] is that layer
    getattr(clf, attribute)[index] = np.zeros_like(param.data)
    param.data = np.ones_like(param.data)
    said = rf"{attribute}\[{index}\] was assigned and its layer's {part}, network_\[{at}\]\.{part},"
    with pytest.raises(ValueError, match=said):
        clf.predict(X)
