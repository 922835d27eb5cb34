"""Converters to and from other libraries: PyTorch (:mod:`chainrule.interop.torch`) and ONNX
(:mod:`chainrule.interop.onnx`).

Neither PyTorch nor onnx is imported until a converter runs; each raises a clear
:class:`~chainrule.errors.ConversionError` where its package is missing.

>>> import chainrule as cr                                           # doctest: +SKIP
>>> model = cr.interop.from_torch(torch_net)                         # doctest: +SKIP
>>> cr.interop.to_onnx(model, "model.onnx")                          # doctest: +SKIP
"""

from chainrule.interop.onnx import saved_to_onnx, to_onnx
from chainrule.interop.torch import (
    build_arch,
    from_torch,
    load_state_dict_from_torch,
    load_torch,
    save_torch,
    state_dict_from_torch,
    state_dict_to_torch,
    to_torch,
    weight_from_torch,
    weight_to_torch,
)

__all__ = [
    "build_arch", "from_torch", "load_state_dict_from_torch", "load_torch", "save_torch",
    "saved_to_onnx", "state_dict_from_torch", "state_dict_to_torch", "to_onnx", "to_torch",
    "weight_from_torch", "weight_to_torch",
]  # fmt: skip
