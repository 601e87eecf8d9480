import pytest
import torch
from torch import nn

from pyg_ext.blocks.activation import (
    ACTIVATION_NAMES,
    SquaredReLU,
    activation_name,
    activation_resolver,
)


@pytest.mark.parametrize('name,reference', [
    ('relu', torch.relu),
    ('gelu', lambda x: 0.5 * x * (1 + torch.erf(x / 2 ** 0.5))),
    ('gelu_tanh', lambda x: 0.5 * x * (1 + torch.tanh((2 / torch.pi) ** 0.5
                                                      * (x + 0.044715 * x ** 3)))),
    ('silu', lambda x: x * torch.sigmoid(x)),
    ('swish', lambda x: x * torch.sigmoid(x)),
    ('squared_relu', lambda x: torch.where(x > 0, x * x, torch.zeros_like(x))),
    ('tanh', torch.tanh),
    ('sigmoid', torch.sigmoid),
    ('identity', lambda x: x),
    ('Squared-ReLU', lambda x: torch.where(x > 0, x * x, torch.zeros_like(x))),
])
def test_names_match_formulas(name, reference):
    x = torch.linspace(-4, 4, 101)
    act = activation_resolver(name)
    assert isinstance(act, nn.Module)
    torch.testing.assert_close(act(x), reference(x))


def test_every_name_resolves_to_a_fresh_module():
    for name in ACTIVATION_NAMES:
        a, b = activation_resolver(name), activation_resolver(name)
        assert isinstance(a, nn.Module) and a is not b


def test_modules_classes_and_none():
    prelu = nn.PReLU()
    assert activation_resolver(prelu) is prelu
    assert isinstance(activation_resolver(nn.Hardswish), nn.Hardswish)
    assert isinstance(activation_resolver(None), nn.Identity)
    assert activation_name('gelu') == 'gelu'
    assert activation_name(prelu) == 'PReLU'
    assert activation_name(nn.Hardswish) == 'Hardswish'
    assert activation_name(None) == 'identity'


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="Unknown activation 'swiglu'; use one of"):
        activation_resolver('swiglu')
    with pytest.raises(ValueError, match='wrap a plain function in an nn.Module'):
        activation_resolver(torch.relu)


def test_squared_relu_gradient_and_save(tmp_path):
    x = torch.randn(5, 3, requires_grad=True)
    SquaredReLU()(x).sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.detach().clamp(min=0))
    path = tmp_path / 'act.pt'
    torch.save(SquaredReLU(), path)
    assert isinstance(torch.load(path, weights_only=False), SquaredReLU)
