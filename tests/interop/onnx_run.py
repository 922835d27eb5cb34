"""Running an exported ONNX model in onnxruntime, for the tests of this folder."""

from __future__ import annotations

import pytest


def needs_onnx():
    """onnxruntime, skipping the test where onnx or onnxruntime is not installed."""
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def run_proto(ort, proto, X):
    """The outputs of the in-memory ONNX model ``proto`` for the input rows ``X``."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": X})[0]
