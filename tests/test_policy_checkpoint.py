import pickle

import pytest
import torch
from episode_files import tiny_run_config
from safetensors.torch import save_file

from policy.checkpoint import CheckpointError, load_policy, read_checkpoint, save_checkpoint
from policy.model import DiffusionPolicy


def make_checkpoint(path):
    torch.manual_seed(0)
    cfg = tiny_run_config()
    cfg.policy.lowdim_dim = 10
    model = DiffusionPolicy(cfg.policy)
    model.normalizer.fit("action", torch.rand(20, 10) * 3)
    tensors = {f"ema.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"model.{k}": v for k, v in model.state_dict().items()})
    save_checkpoint(path, cfg, tensors, {"dataset": {"fingerprint": "abc"}, "training": {"step": 7},
                                         "normalizer": model.normalizer.stats()})
    return model


def test_round_trip_restores_weights_normaliser_and_config(tmp_path):
    path = tmp_path / "last.safetensors"
    model = make_checkpoint(path)
    loaded, ckpt = load_policy(path)
    assert ckpt.step == 7 and ckpt.meta["dataset"]["fingerprint"] == "abc"
    assert ckpt.config.policy == model.cfg
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    assert torch.equal(loaded.normalizer.fields["action"].high, model.normalizer.fields["action"].high)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and isinstance(exc.value, ValueError)
    return text


def test_a_changed_byte_is_detected(tmp_path):
    path = tmp_path / "c.safetensors"
    make_checkpoint(path)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01  # inside the tensor data
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as exc:
        read_checkpoint(path)
    assert "digest" in _one_line(exc)


@pytest.mark.parametrize("damage", ["truncate", "header", "config"])
def test_damaged_files_give_one_line_errors(tmp_path, damage):
    path = tmp_path / "c.safetensors"
    make_checkpoint(path)
    data = path.read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "header":
        data = data[:8] + b"{not json" + data[17:]
    else:
        data = data.replace(b'\\"horizon\\": 8', b'\\"horizon\\": 9')  # still valid JSON, digest no longer matches
    path.write_bytes(data)
    with pytest.raises(ValueError) as exc:
        read_checkpoint(path)
    assert str(path) in _one_line(exc)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"state": _Exploit(str(marker))}))
    with pytest.raises(ValueError) as exc:
        load_policy(path)
    assert "safetensors header" in _one_line(exc)
    assert not marker.exists()


def test_foreign_safetensors_and_missing_files(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ValueError) as exc:
        read_checkpoint(path)
    assert "not a demostation-policy file" in _one_line(exc)
    with pytest.raises(ValueError, match="no training run or checkpoint"):
        load_policy(tmp_path / "nope")
    (tmp_path / "run").mkdir()
    with pytest.raises(ValueError, match="holds no checkpoints"):
        load_policy(tmp_path / "run")


def test_inference_beside_other_busy_threads_takes_half_the_cores():
    from policy.compute_device import shared_process_threads

    assert [shared_process_threads(n) for n in (1, 2, 3, 8)] == [1, 1, 1, 4]


@pytest.mark.parametrize("key,value", [("horizon", 5_000_000), ("lowdim_dim", -3), ("transformer_dim", 10**9),
                                       ("sample_steps", 10**9), ("unet_dims", (64, 10**9))])
def test_a_hostile_config_with_a_valid_digest_is_refused_before_anything_is_built(tmp_path, key, value):
    """The digest proves integrity, not intent: sizes in a well-formed checkpoint are still bounded."""
    path = tmp_path / "c.safetensors"
    make_checkpoint(path)
    cfg = tiny_run_config()
    setattr(cfg.policy, key, value)
    save_checkpoint(path, cfg, {"w": torch.zeros(1)}, {"training": {"step": 1}})
    with pytest.raises(ValueError) as exc:
        read_checkpoint(path)
    assert key in _one_line(exc) and str(path) in _one_line(exc)
