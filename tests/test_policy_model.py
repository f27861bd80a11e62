import pytest
import torch
from episode_files import tiny_run_config

from policy.config import RunConfig, preset
from policy.heads import make_head
from policy.model import DiffusionPolicy
from policy.objectives import DDPM, make_objective

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("head", ["unet", "transformer"])
@pytest.mark.parametrize("horizon", [8, 10, 16])
def test_heads_map_chunks_to_chunks(head, horizon):
    cfg = tiny_run_config(head=head, horizon=horizon).policy
    net = make_head(cfg, 10, n_tokens=3, token_dim=12)
    out = net(torch.randn(4, horizon, 10), torch.rand(4) * 100, torch.randn(4, 3, 12))
    assert out.shape == (4, horizon, 10)


def oracle(target: torch.Tensor, objective):
    """The perfect denoiser for a single known chunk: both objectives must then return exactly it."""
    def model(x, t, cond):
        if isinstance(objective, DDPM):
            ab = objective.alpha_bars[t.long()].view(-1, 1, 1)
            return (x - ab.sqrt() * target) / (1 - ab).sqrt()
        tt = (t / objective.time_scale).view(-1, 1, 1)
        return (target - x) / (1 - tt)
    return model


@pytest.mark.parametrize("name,steps", [("ddpm", 1), ("ddpm", 5), ("ddpm", 100), ("flow", 1), ("flow", 4)])
def test_every_objective_samples_the_same_actions_from_a_perfect_denoiser(name, steps):
    obj = make_objective(name, 100)
    target = torch.rand(2, 8, 10) * 1.8 - 0.9
    x = obj.sample(oracle(target, obj), torch.zeros(2, 1, 1), (2, 8, 10), steps, torch.Generator().manual_seed(0))
    assert torch.allclose(x, target, atol=1e-3)  # ᾱ at the last DDPM level is 2e-7: float32 rounding shows


def test_ddim_visits_noise_levels_from_pure_noise_down():
    ts = DDPM(100).timesteps(8)
    assert ts[0] == 99 and ts == sorted(ts, reverse=True) and len(ts) == 8
    assert DDPM(100).alpha_bars[99] < 1e-3 < DDPM(100).alpha_bars[0]


@pytest.mark.parametrize("objective", ["ddpm", "flow"])
def test_losses_are_finite_and_train(objective):
    torch.manual_seed(0)
    cfg = tiny_run_config(objective=objective)
    model = DiffusionPolicy(cfg.policy)
    batch = {"images": {c: torch.randint(0, 255, (8, 2, 32, 32, 3), dtype=torch.uint8) for c in cfg.policy.cameras},
             "lowdim": torch.randn(8, 2, 10), "action": torch.rand(8, 8, 10) * 2 - 1}
    model.normalizer.fit("action", batch["action"])
    model.normalizer.fit("lowdim", batch["lowdim"])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        first = float(model(batch, generator=g))
    for _ in range(30):
        loss = model(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        assert float(model(batch, generator=g)) < first


def test_task_and_goal_conditioning_add_a_token():
    for conditioning, extra in (("task", {"task": torch.tensor([0, 1])}),
                                ("goal", {"goal": torch.randint(0, 255, (2, 32, 32, 3), dtype=torch.uint8)})):
        cfg = tiny_run_config(conditioning=conditioning, tasks=("a", "b")).policy
        model = DiffusionPolicy(cfg)
        batch = {"images": {c: torch.randint(0, 255, (2, 2, 32, 32, 3), dtype=torch.uint8) for c in cfg.cameras},
                 "lowdim": torch.randn(2, 2, 10), "action": torch.randn(2, 8, 10), **extra}
        cond = model.condition_from_batch(batch, train=False)
        assert cond.shape[1] == cfg.obs_steps + 1
        assert torch.isfinite(model(batch))


def test_config_round_trips_and_rejects_typos():
    for name in ("cpu", "gpu"):
        cfg = preset(name)
        assert RunConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown PolicyConfig key"):
        RunConfig.from_dict({"policy": {"hroizon": 16}})
    with pytest.raises(ValueError, match="horizon: expected int"):
        RunConfig.from_dict({"policy": {"horizon": "16"}})
    with pytest.raises(ValueError, match="action_steps"):
        RunConfig.from_dict({"policy": {"action_steps": 40}})
    with pytest.raises(ValueError, match="unknown head"):
        DiffusionPolicy(tiny_run_config(head="lstm").policy)


@pytest.mark.parametrize("name", ["small", "resnet18gn"])
def test_encoders_pool_keypoints_into_features(name):
    from policy.encoders import SpatialSoftmax, make_encoder

    enc = make_encoder(name, out_features=24, channels=8, keypoints=6)
    assert enc(torch.randn(2, 3, 84, 84)).shape == (2, 24)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in enc.modules())  # GroupNorm only
    pool = SpatialSoftmax(1, 1)
    torch.nn.init.ones_(pool.proj.weight)
    torch.nn.init.zeros_(pool.proj.bias)
    img = torch.full((1, 1, 5, 5), -50.0)
    img[0, 0, 4, 0] = 50.0  # a bright spot at the bottom-left corner
    assert torch.allclose(pool(img), torch.tensor([[-1.0, 1.0]]), atol=1e-3)  # (x, y) of the spot


def test_preprocess_crops_and_resizes():
    from policy.encoders import ImagePreprocess

    pre = ImagePreprocess(96, 84, jitter=0.2)
    frames = torch.randint(0, 255, (3, 96, 96, 3), dtype=torch.uint8)
    train = pre(frames, train=True, generator=torch.Generator().manual_seed(0))
    evaluation = pre(frames, train=False)
    assert train.shape == evaluation.shape == (3, 3, 84, 84)
    assert evaluation.min() >= -1 and evaluation.max() <= 1
    expected = frames[:, 6:90, 6:90].permute(0, 3, 1, 2).float() / 255 * 2 - 1
    assert torch.allclose(evaluation, expected)  # the centre crop, untouched
    assert pre(torch.randint(0, 255, (1, 64, 64, 3), dtype=torch.uint8), train=False).shape == (1, 3, 84, 84)


def test_learning_rate_warms_up_by_steps_then_decays_to_zero():
    from policy.schedule import lr_factor, warmup_steps

    assert warmup_steps(500, 100_000) == 500 and warmup_steps(500, 200) == 20
    assert lr_factor(0, 0.0, 500) == pytest.approx(1 / 500)
    assert lr_factor(499, 0.001, 500) == pytest.approx(1.0, abs=1e-4)
    assert lr_factor(100, 0.9, 500) < lr_factor(600, 0.5, 500) < 1.0  # a time-limited run near its end
    assert lr_factor(10_000, 1.0, 500) == pytest.approx(0.0)
