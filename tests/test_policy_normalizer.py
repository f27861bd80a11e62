import pytest
import torch

from policy.normalizer import MinMaxNormalizer


def test_fit_maps_data_to_minus_one_one_and_back():
    n = MinMaxNormalizer({"action": 3})
    x = torch.tensor([[0.0, 5.0, 2.0], [1.0, 7.0, 2.0], [0.5, 6.0, 2.0]])
    n.fit("action", x)
    y = n.normalize("action", x)
    assert torch.allclose(y[:, :2].min(0).values, torch.tensor([-1.0, -1.0]))
    assert torch.allclose(y[:, :2].max(0).values, torch.tensor([1.0, 1.0]))
    assert torch.all(torch.isfinite(y)) and torch.allclose(y[:, 2], torch.zeros(3))  # constant: centred, not scaled
    assert torch.allclose(n.unnormalize("action", y), x, atol=1e-6)


def test_a_dimension_that_hardly_varied_is_not_blown_up():
    """A tilt component spanning 0.003 in the demos: 0.02 of tilt at run time must stay a modest
    input (with its own span it would be ~13, far outside anything trained on)."""
    n = MinMaxNormalizer({"lowdim": 2})
    x = torch.stack([torch.linspace(0.3, 0.6, 50), torch.linspace(-0.0015, 0.0015, 50)], 1)
    n.fit("lowdim", x)
    y = n.normalize("lowdim", x)
    assert torch.allclose(y[:, 0].min(), torch.tensor(-1.0)) and torch.allclose(y[:, 0].max(), torch.tensor(1.0))
    assert y[:, 1].abs().max() <= 0.031  # the narrow dimension, scaled as if it spanned MIN_SPAN
    assert n.normalize("lowdim", torch.tensor([[0.45, 0.02]]))[0, 1].abs() <= 0.41
    assert torch.allclose(n.unnormalize("lowdim", y), x, atol=1e-6)


def test_statistics_travel_in_the_state_dict():
    a = MinMaxNormalizer({"action": 2, "lowdim": 1})
    a.fit("action", torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    b = MinMaxNormalizer({"action": 2, "lowdim": 1})
    b.load_state_dict(a.state_dict())
    assert set(a.state_dict()) == {"fields.action.low", "fields.action.high", "fields.lowdim.low", "fields.lowdim.high"}
    x = torch.tensor([[1.0, 2.0]])
    assert torch.equal(a.normalize("action", x), b.normalize("action", x))


def test_nan_or_empty_data_is_refused():
    n = MinMaxNormalizer({"action": 2})
    with pytest.raises(ValueError, match="NaN"):
        n.fit("action", torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="no samples"):
        n.fit("action", torch.zeros(0, 2))
