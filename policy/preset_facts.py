"""What each training preset is, costs and has achieved: the one table the GUI shows beside them.

The figures are the ones bench/README.md and docs/policy.md state, with their date and machine, so
that a user choosing a preset sees the measured recipe next to the unmeasured one. They live in
the core, not in the view, so the documentation, the CLI and the Train panel cannot drift apart
(tests/test_preset_facts.py checks the table covers exactly the presets `demostation train` has).
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.config import DEFAULT_PRESET, PRESET_CHOICES


@dataclass(frozen=True)
class PresetFacts:
    name: str
    title: str  # a few words for the preset's menu entry
    recipe: str  # what it trains
    cost: str  # what it takes, measured
    achieved: str  # what it reached, measured (or "not measured")
    source: str  # where the figures are stated


PRESET_FACTS: dict[str, PresetFacts] = {
    "auto": PresetFacts(
        name="auto", title="gpu if CUDA, else cpu",
        recipe="the gpu preset when this machine has a CUDA GPU (and the device is not cpu), otherwise the cpu preset",
        cost="that of the preset it picks", achieved="that of the preset it picks",
        source="docs/policy.md (Training)"),
    "cpu": PresetFacts(
        name="cpu", title="small, fast, measured",
        recipe="small conv encoder (32 keypoints), transformer head 96×3, flow matching with 6 Euler steps, "
               "lr 5e-4, 20,000 steps of batch 64",
        cost="about 1 h on one CPU core (21,916 steps in 60 min, ~370 samples/s, Dec 6); ~8 ms per chunk",
        achieved="pick_place 100 % on 50 unseen seeds with the logged mistakes trimmed (88 % untrimmed; "
                 "100 expert demos); push_t not learned in 25 min (coverage 0.16)",
        source="bench/README.md (Learning, Dec 6)"),
    "gpu": PresetFacts(
        name="gpu", title="Diffusion Policy's size",
        recipe="ResNet-18-GroupNorm encoder, U-Net 256/512/1024 with FiLM, DDPM 100 levels sampled with "
               "DDIM 10 steps, lr 1e-4, 20,000 steps of batch 64",
        cost="a CUDA GPU; its checkpoint with optimiser state is 1,249 MB",
        achieved="not measured here (the benchmark machine has no GPU)",
        source="docs/policy.md (Training), bench/README.md (Checkpoint reading memory)"),
}


def facts(name: str) -> PresetFacts:
    try:
        return PRESET_FACTS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESET_CHOICES)}") from None


def default_facts() -> PresetFacts:
    """The facts of the preset `demostation train` uses without --preset."""
    return facts(DEFAULT_PRESET)
