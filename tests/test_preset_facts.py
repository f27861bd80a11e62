"""The presets' facts table covers exactly the presets `demostation train` offers, and its
recipes say what the presets really build (so the table cannot drift from policy/config.py)."""

from policy.config import DEFAULT_PRESET, PRESET_CHOICES, preset, resolve_preset
from policy.preset_facts import PRESET_FACTS, default_facts


def test_every_preset_has_its_facts_and_no_other():
    assert tuple(PRESET_FACTS) == PRESET_CHOICES
    assert default_facts().name == DEFAULT_PRESET == "auto"
    for f in PRESET_FACTS.values():
        assert f.recipe and f.cost and f.achieved and f.source


def test_the_recipes_name_what_the_presets_build():
    cpu, gpu = preset("cpu"), preset("gpu")
    assert cpu.policy.head == "transformer" and "transformer" in PRESET_FACTS["cpu"].recipe
    assert cpu.policy.objective == "flow" and "flow matching" in PRESET_FACTS["cpu"].recipe
    assert f"{cpu.train.steps:,}" in PRESET_FACTS["cpu"].recipe and f"batch {cpu.train.batch_size}" in PRESET_FACTS["cpu"].recipe
    assert gpu.policy.head == "unet" and "U-Net" in PRESET_FACTS["gpu"].recipe
    assert gpu.policy.objective == "ddpm" and "DDPM" in PRESET_FACTS["gpu"].recipe
    assert f"{gpu.train.steps:,}" in PRESET_FACTS["gpu"].recipe


def test_auto_is_gpu_only_with_cuda_and_not_forced_to_the_cpu():
    assert resolve_preset("auto", "auto", lambda: True) == "gpu"
    assert resolve_preset("auto", "auto", lambda: False) == "cpu"
    assert resolve_preset("auto", "cpu", lambda: True) == "cpu"
    assert resolve_preset("cpu", "cuda", lambda: True) == "cpu"
