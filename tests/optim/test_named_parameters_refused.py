"""An optimizer given ``named_parameters()`` (as PyTorch's optimizers may be) says that it got
(name, parameter) pairs and what to give instead: it said "parameter 0 is not a tensor requiring
a gradient (tuple)"."""

import pytest

from chainrule import nn, optim
from chainrule.errors import ConfigError


@pytest.mark.parametrize("make", [optim.SGD, optim.Adam, optim.RMSprop], ids=lambda m: m.__name__)
def test_named_parameters_are_refused_as_pairs_with_the_fix(make):
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(ConfigError) as caught:
        make(net.named_parameters(), lr=0.1)
    assert str(caught.value).startswith(
        f"{make.__name__}: parameter 0 is a (name, parameter) pair ('0.weight', "
        "chainrule.nn.Parameter), as named_parameters() gives them; give the parameters "
        "alone: net.parameters()"
    )


def test_a_pair_later_in_the_list_is_named_at_its_index():
    net = nn.Sequential(nn.Linear(2, 3))
    weight, bias = net.parameters()
    with pytest.raises(ConfigError, match=r"^SGD: parameter 1 is a \(name, parameter\) pair "
                       r"\('0\.bias', chainrule\.nn\.Parameter\)"):  # fmt: skip
        optim.SGD([weight, ("0.bias", bias)], lr=0.1)


@pytest.mark.parametrize("mapping", ["named", "state_dict"])
def test_a_mapping_of_names_is_refused_not_read_as_its_names(mapping):
    # list() of a dict is its keys: "parameter 0 is not a tensor ... (str)" named no mapping
    net = nn.Sequential(nn.Linear(2, 3))
    given = dict(net.named_parameters()) if mapping == "named" else net.state_dict()
    with pytest.raises(ConfigError, match=r"^Adam: params is a mapping of names to parameters"):
        optim.Adam(given, lr=0.1)
    optim.Adam(dict(net.named_parameters()).values(), lr=0.1)  # the fix it gives works


@pytest.mark.parametrize("make", [optim.SGD, optim.Adam, optim.RMSprop], ids=lambda m: m.__name__)
def test_the_parameters_method_uncalled_is_refused_with_the_call_to_make(make):
    # it said "TypeError: 'method' object is not iterable", naming neither the optimizer nor fix
    net = nn.Sequential(nn.Linear(2, 3))
    with pytest.raises(ConfigError) as caught:
        make(net.parameters, lr=0.1)
    assert str(caught.value) == (
        f"{make.__name__}: params is the function Module.parameters, not what it returns: "
        "call it (model.parameters(), not model.parameters)"
    )
    make(net.parameters(), lr=0.1)  # the fix it gives works
