"""Digits: one hidden layer of logistic units on scikit-learn's 8x8 handwritten digits.

1797 images, a stratified 70/10/20 train/validation/test split, inputs standardised on the
training set, 64 -> 128 logistic -> 10 softmax, cross-entropy, mini-batches of 32, SGD with
momentum 0.9, 50 epochs. The goal (issue 3): at least 97% on the held-out test set, which seed
0 reaches (97.2%; tests/reproductions checks seed 0 alone); over seeds 0-9 this recipe gets
96.1-99.7%, below 97% with seeds 6 and 7 (96.1%, 96.4%); over seeds 0-4, 97.2-98.3% (64 hidden
units and 30 epochs: 96.9-98.6%).

    python examples/digits.py [--seed 0] [--epochs 50]
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim


def run(seed: int = 0, epochs: int = 50, hidden: int = 128, verbose: bool = True) -> dict:
    """Train and return the final accuracies on train, validation and test."""
    train, val, test = data.split(data.digits(), val=0.1, test=0.2, seed=seed)
    scaler = data.Standardizer().fit(train.X)
    X = {name: scaler.transform(part.X) for name, part in
         (("train", train), ("val", val), ("test", test))}  # fmt: skip
    net = nn.mlp([64, hidden, 10], activation="logistic", init="glorot", rng=seed)
    loss = nn.CrossEntropy()
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(seed)

    def accuracy(name: str, part: data.Dataset) -> float:
        with cr.no_grad():
            return float(np.mean(net(X[name]).data.argmax(axis=1) == part.y))

    for epoch in range(1, epochs + 1):
        for rows in data.batches(len(train), 32, shuffle=True, rng=rng):
            opt.zero_grad()
            loss(net(X["train"][rows]), train.y[rows]).backward()
            opt.step()
        if verbose and (epoch % 5 == 0 or epoch == epochs):
            print(f"epoch {epoch:>3}: train {accuracy('train', train):.4f}  "
                  f"validation {accuracy('val', val):.4f}")  # fmt: skip
    scores = {name: accuracy(name, part) for name, part in
              (("train", train), ("val", val), ("test", test))}  # fmt: skip
    if verbose:
        print(f"test accuracy: {scores['test']:.4f} on {len(test)} held-out images")
    return scores


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()
    run(args.seed, args.epochs)
