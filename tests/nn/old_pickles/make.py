"""Writes ``<commit>.pkl`` here: run by an older chainrule, from a git worktree of that commit,

    git worktree add /tmp/v-c817057 c817057
    PYTHONPATH=/tmp/v-c817057/src python tests/nn/old_pickles/make.py c817057

(c817057 and 47c4f08 made the two files here.) Each file is a pickle of ``{"pickled": bytes,
"expected": dict}``: ``pickled`` the older version's pickle of a fitted MLPClassifier and
MLPRegressor, a network (Linear without bias, tanh, seeded dropout, Linear; its first layer a
Parallel where the version has one) and the inputs ``X``, taken before any prediction;
``expected`` the arrays that version predicted then (NumPy's own types only, so reading them
needs no chainrule): the classifier's probabilities and labels, the regressor's outputs, and
the network's outputs in eval mode and then in training mode (the dropout generator's next
masks). tests/nn/test_old_pickles_s66.py reads them.
"""

import pickle
import sys
import warnings

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.sklearn import MLPClassifier, MLPRegressor

warnings.simplefilter("ignore")  # the short fits' ConvergenceWarning
commit, out = sys.argv[1], f"{sys.argv[1]}.pkl"
rng = np.random.default_rng(0)
X = rng.normal(size=(24, 4)).astype(np.float32)
labels = np.array(["lo", "mid", "hi"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, labels)
reg = MLPRegressor(hidden_layer_sizes=(2,), max_iter=5, random_state=0).fit(X, X[:, 0])
first = nn.Linear(4, 3, bias=False, rng=0)
if hasattr(nn, "Parallel"):  # (not at c817057)
    first = nn.Parallel((2, nn.Linear(2, 2, rng=0)), (2, nn.Linear(2, 1, bias=False, rng=2)))
net = nn.Sequential(first, nn.Tanh(), nn.Dropout(0.5, rng=3), nn.Linear(3, 2, rng=1))
record = {"made_by": commit, "X": X, "classifier": clf, "regressor": reg, "network": net}
pickled = pickle.dumps(record)
net.eval()
expected = {
    "classifier_proba": clf.predict_proba(X),
    "classifier_labels": clf.predict(X),
    "regressor": reg.predict(X),
    "network_eval": net(cr.tensor(X)).data.copy(),
}
net.train()
expected["network_train"] = net(cr.tensor(X)).data.copy()
with open(out, "wb") as f:
    pickle.dump({"pickled": pickled, "expected": expected}, f)
