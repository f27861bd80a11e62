"""Training augmentations: per-camera colour jitter, crops, hue rotation, random convolution.

Deterministic under a seed, off at inference, validated, stored in the checkpoint and reported.
"""

import json

import pytest
import torch
from episode_files import tiny_run_config, write_dataset

from policy.augment import colour_jitter, hue_rotate, parse_camera_jitter, random_convolution
from policy.config import RunConfig
from policy.encoders import ImagePreprocess


def frames(n=6, size=32, seed=0):
    return torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def every_augmentation():
    return ImagePreprocess(32, 28, jitter=0.3, hue=0.25, random_conv=0.5, random_crop=True)


def test_the_same_seed_gives_the_same_augmented_batch_and_another_seed_another():
    pre, x = every_augmentation(), frames()
    a = pre(x, train=True, generator=torch.Generator().manual_seed(4))
    b = pre(x, train=True, generator=torch.Generator().manual_seed(4))
    c = pre(x, train=True, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a.min() >= -1 and a.max() <= 1 and a.shape == (6, 3, 28, 28)


def test_inference_sees_the_centre_crop_and_nothing_else():
    x = frames()
    expected = x[:, 2:30, 2:30].permute(0, 3, 1, 2).float() / 255 * 2 - 1
    assert torch.allclose(every_augmentation()(x, train=False), expected)
    # Training with every augmentation off and no random crop is the inference image too.
    plain = ImagePreprocess(32, 28, jitter=0.0, random_crop=False)
    assert torch.allclose(plain(x, train=True, generator=torch.Generator().manual_seed(0)), expected)


def test_per_frame_jitter_strength_leaves_zero_strength_frames_alone():
    x = frames().permute(0, 3, 1, 2).float() / 255
    strength = torch.tensor([0.0, 0.5, 0.0, 0.5, 0.0, 0.5])
    out = colour_jitter(x.clone(), strength, torch.Generator().manual_seed(1))
    assert torch.allclose(out[0::2], x[0::2])
    assert not torch.allclose(out[1::2], x[1::2])


def test_model_gives_each_camera_its_own_jitter(monkeypatch):
    from policy.model import DiffusionPolicy

    cfg = tiny_run_config(camera_jitter={"wrist": 0.0}, color_jitter=0.4)
    cfg.policy.lowdim_dim = 10
    model = DiffusionPolicy(cfg.policy)
    seen = {}

    def spy(frames, train, generator=None, jitter=None):
        seen["jitter"] = jitter
        return torch.zeros(frames.shape[0], 3, 28, 28)

    monkeypatch.setattr(model.preprocess, "forward", spy)
    images = {c: torch.zeros(2, 1, 32, 32, 3, dtype=torch.uint8) for c in ("scene", "wrist")}
    model.encode_images(images, train=True)
    assert seen["jitter"].tolist() == pytest.approx([0.4, 0.0, 0.4, 0.0])  # (sample, step, camera) order
    model.encode_images(images, train=False)
    assert seen["jitter"] is None


def test_hue_rotation_keeps_luminance_and_moves_colour():
    x = torch.zeros(1, 3, 4, 4)
    x[:, 0] = 0.8  # a red patch
    x[:, 1:] = 0.2
    out = hue_rotate(x.clone(), 0.5, torch.Generator().manual_seed(3))
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert torch.allclose((out * luma).sum(1), (x * luma).sum(1), atol=0.03)
    assert (out - x).abs().max() > 0.1


def test_random_convolution_by_probability_in_range():
    x = frames(8).permute(0, 3, 1, 2).float() / 255
    g = torch.Generator().manual_seed(0)
    assert torch.equal(random_convolution(x, 0.0, g), x)
    out = random_convolution(x, 1.0, torch.Generator().manual_seed(0))
    assert out.min() >= 0 and out.max() <= 1
    assert all(not torch.allclose(out[i], x[i]) for i in range(8))
    # renormalised to each frame's own brightness (up to the clamp)
    assert torch.allclose(out.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=0.08)


def test_parse_camera_jitter():
    assert parse_camera_jitter("0.2") == (0.2, {})
    assert parse_camera_jitter("scene=0.4, wrist=0") == (None, {"scene": 0.4, "wrist": 0.0})
    assert parse_camera_jitter("0.1,scene=0.4") == (0.1, {"scene": 0.4})
    for bad in ("abc", "scene=x", "=0.2"):
        with pytest.raises(ValueError):
            parse_camera_jitter(bad)


@pytest.mark.parametrize("key, value, needle", [
    ("color_jitter", 1.5, "color_jitter"), ("hue_jitter", 0.6, "hue_jitter"), ("random_conv", 2.0, "random_conv"),
    ("camera_jitter", {"tactile": 0.1}, "does not see"), ("camera_jitter", {"scene": -0.1}, "[0, 1]"),
    ("random_crop", "yes", "random_crop"), ("camera_jitter", {"scene": "a"}, "camera_jitter"),
])
def test_config_refuses_bad_augmentation_values(key, value, needle):
    with pytest.raises(ValueError, match=None) as err:
        RunConfig.from_dict({"policy": {key: value}})
    assert needle in str(err.value)


def test_augmentation_round_trips_through_the_checkpoint(tmp_path):
    from policy.checkpoint import load_policy, save_checkpoint
    from policy.checkpoint_info import checkpoint_info
    from policy.model import DiffusionPolicy

    cfg = tiny_run_config(camera_jitter={"scene": 0.35}, hue_jitter=0.2, random_conv=0.3, random_crop=False)
    cfg.policy.lowdim_dim = 10
    model = DiffusionPolicy(cfg.policy)
    tensors = {f"ema.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"model.{k}": v for k, v in model.state_dict().items()})
    path = tmp_path / "best.safetensors"
    save_checkpoint(path, cfg, tensors, {"training": {"step": 3}, "normalizer": model.normalizer.stats()})
    loaded, ckpt = load_policy(path)
    assert ckpt.config.policy == cfg.policy
    assert (loaded.preprocess.hue, loaded.preprocess.random_conv, loaded.preprocess.random_crop) == (0.2, 0.3, False)
    assert checkpoint_info(path)["augmentation"] == {
        "color_jitter": {"scene": 0.35, "wrist": 0.15}, "hue_jitter": 0.2, "random_crop": False, "crop_size": 28,
        "image_size": 32, "random_conv": 0.3}
    # A configuration written before these keys existed reads with the old behaviour.
    old = cfg.to_dict()
    for key in ("camera_jitter", "hue_jitter", "random_crop", "random_conv"):
        old["policy"].pop(key)
    p = RunConfig.from_dict(old).policy
    assert (p.camera_jitter, p.hue_jitter, p.random_crop, p.random_conv) == ({}, 0.0, True, 0.0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):

    root = tmp_path_factory.mktemp("aug")
    data = write_dataset(root / "data", episodes=3, cameras=("scene",))
    cfg = root / "tiny.json"
    tiny = tiny_run_config().to_dict()
    tiny["train"].pop("device")
    cfg.write_text(json.dumps(tiny))
    run = root / "run"
    argv = ["train", str(data), "--out", str(run), "--config", str(cfg), "--cameras", "scene", "--steps", "4",
            "--color-jitter", "scene=0.25", "--hue-jitter", "0.1", "--random-conv", "0.2", "--no-random-crop",
            "--seed", "2", "--device", "cpu", "--json"]
    return data, run, argv, cfg


def test_train_flags_reach_the_checkpoint_and_info_shows_them(tiny_run, capsys):
    from app.cli import main

    data, run, argv, _ = tiny_run
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    want = {"color_jitter": {"scene": 0.25}, "hue_jitter": 0.1, "random_crop": False, "crop_size": 28,
            "image_size": 32, "random_conv": 0.2}
    assert out["augmentation"] == want
    assert main(["info", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["augmentation"] == want and info["train"]["seed"] == 2
    assert main(["info", str(run)]) == 0
    assert "augmentation: colour jitter scene 0.25; hue ±0.1 turn; crop centre 28 of 32 px; random convolution " \
           "p=0.2" in capsys.readouterr().out


@pytest.mark.parametrize("flags, needle", [
    (["--color-jitter", "wrist=0.2"], "does not see"), (["--color-jitter", "1.5"], "[0, 1]"),
    (["--hue-jitter", "0.9"], "hue_jitter"), (["--random-conv", "1.1"], "random_conv"),
    (["--crop", "64"], "larger than image_size"), (["--color-jitter", "scene=lots"], "--color-jitter"),
])
def test_bad_augmentation_flags_exit_2_with_one_line(tiny_run, flags, needle, capsys, tmp_path):
    from app.cli import main

    data, _, _, cfg = tiny_run
    capsys.readouterr()
    assert main(["train", str(data), "--out", str(tmp_path / "r"), "--config", str(cfg), "--cameras", "scene",
                 *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_eval_reports_the_checkpoint_augmentation(tiny_run, capsys):
    from app.cli import main

    _, run, argv, _ = tiny_run
    if not (run / "checkpoints").exists():
        assert main(argv) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "1", "--image-size", "32", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["augmentation"]["color_jitter"] == {"scene": 0.25} and report["augmentation"]["random_conv"] == 0.2


def test_info_on_a_run_without_checkpoints_is_one_line_and_status_2(tmp_path, capsys):
    from app.cli import main

    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    assert main(["info", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds no checkpoints" in err
