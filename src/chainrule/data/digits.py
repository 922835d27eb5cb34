"""The 8x8 UCI handwritten digits that scikit-learn ships (1797 images; no download)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.data.dataset import Dataset
from chainrule.errors import DataError


def digits(dtype: Any = np.float32) -> Dataset:
    """1797 images of the digits 0-9, 8x8 pixels flattened to 64 inputs scaled to [0, 1].

    The pixels are counts 0..16 in the original (each 8x8 cell counts "on" pixels of a 32x32
    bitmap), so they are divided by 16.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # scikit-learn is in the `app` extra
        raise DataError(
            "digits: needs scikit-learn (pip install 'chainrule[app]' or scikit-learn)"
        ) from error
    bunch = load_digits()
    X = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(dtype)
    return Dataset(
        X=X,
        y=np.asarray(bunch.target, dtype=np.int64),
        task="classification",
        name="digits",
        n_classes=10,
        feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
        class_names=[str(d) for d in range(10)],
        meta={"image_shape": [8, 8], "source": "sklearn.datasets.load_digits (UCI)"},
    )
