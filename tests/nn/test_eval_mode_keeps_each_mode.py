"""eval_mode leaves every module in the mode it was in, not in the top module's mode."""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn.module import eval_mode


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Logistic(), nn.Dropout(0.5))


def test_a_dropout_the_user_put_in_eval_mode_stays_there():
    model = _model()
    model[3].eval()  # the user's choice: the last dropout off while training
    before = [module.training for module in model.modules()]
    with eval_mode(model):
        assert not any(module.training for module in model.modules())
    assert (
        [module.training for module in model.modules()] == before == [True, True, True, True, False]
    )


def test_a_model_in_eval_mode_with_one_layer_training_is_left_so():
    model = _model().eval()
    model[1].train()
    with eval_mode(model):
        out = model(cr.tensor(np.ones((2, 3))))
    assert [m.training for m in model.modules()] == [False, False, True, False, False]
    assert out.shape == (2, 4)


def test_an_error_in_the_block_still_restores_each_mode():
    model = _model()
    model[1].eval()
    try:
        with eval_mode(model):
            raise RuntimeError("inside")
    except RuntimeError:
        pass
    assert [m.training for m in model.modules()] == [True, True, False, True, True]
