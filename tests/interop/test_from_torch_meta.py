"""A PyTorch network on the meta device (shapes, no values) is refused with the way out, not
torch's bare "Cannot copy out of meta tensor; no data!"."""

import pytest

import chainrule as cr
from chainrule.errors import ConversionError

torch = pytest.importorskip("torch")


def test_a_meta_device_network_is_refused_naming_the_device():
    with torch.device("meta"):
        net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    with pytest.raises(ConversionError, match="meta device.*to_empty"):
        cr.interop.from_torch(net)
    net = net.to_empty(device="cpu")  # the way out the message gives
    torch.manual_seed(0)
    for layer in (net[0], net[2]):
        layer.reset_parameters()
    x = torch.rand(4, 2)
    with torch.no_grad():
        theirs = net(x).numpy()
    ours = cr.interop.from_torch(net)(cr.tensor(x.numpy())).numpy()
    assert abs(ours - theirs).max() < 1e-6
