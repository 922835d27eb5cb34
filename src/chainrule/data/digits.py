"""The 8x8 UCI handwritten digits that scikit-learn ships (1797 images; no download)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.data.dataset import Dataset, check_float_dtype
from chainrule.errors import DataError


def digits(dtype: Any = np.float32) -> Dataset:
    """1797 images of the digits 0-9, 8x8 pixels flattened to 64 inputs scaled to [0, 1].

    The pixels are counts 0..16 in the original (each 8x8 cell counts "on" pixels of a 32x32
    bitmap), so they are divided by 16. ``dtype`` must be a floating-point type (an integer
    one would round the scaled pixels to 0 and 1): any other raises ``DataError``.
    """
    check_float_dtype("digits", dtype)
    table = np.loadtxt(_digits_file(), delimiter=",")  # 64 pixel counts, then the digit
    X = (table[:, :-1] / 16.0).astype(dtype)
    return Dataset(
        X=X,
        y=table[:, -1].astype(np.int64),
        task="classification",
        name="digits",
        n_classes=10,
        feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
        class_names=[str(d) for d in range(10)],
        # what the pixels were mapped from onto [0, 1]: a model's rows are refused unscaled
        # (load_digits().data, 0..16, gave a confident 88% where the scaled rows give 99%)
        meta={
            "image_shape": [8, 8],
            "source": "sklearn.datasets.load_digits (UCI)",
            "pixel_range": [0.0, 16.0],
        },
    )


def _digits_file() -> Path:
    """scikit-learn's copy of the digits, found without importing scikit-learn: importing it
    costs about a second (its estimators), reading the 1797 rows about 20 ms."""
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    raise DataError(
        "digits: needs scikit-learn's copy of the data "
        "(pip install 'chainrule[app]' or scikit-learn)"
    )
