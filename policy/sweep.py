"""Robustness sweep: success against severity for every perturbation, as JSON, Markdown and a plot.

One unperturbed baseline (severity 0, shared by every curve) plus each registered perturbation
(`devices.sim.perturbations.perturbation_names`) at each severity, all with the same episode seeds,
so a drop in success is the perturbation's doing and not the luck of the draw. All rollouts of
the sweep share one pool of worker processes.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from devices.userfiles import atomic_path, write_text_atomic
from policy.evaluation import (
    EpisodeResult,
    EvalSettings,
    episode_line,
    executor_for,
    latency_label,
    percentiles,
    run_jobs,
    total_interventions,
    validate_settings,
    with_perturbations,
)
from recorder.jobs import Progress, ShouldStop, never_stop, no_progress

SWEEP_SEVERITIES = (0.25, 0.5, 1.0)
BASELINE = "none"
Z95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a success rate: unlike mean ± 1.96 SE it stays inside [0, 1] and is
    not zero-width at 0 / n or n / n, which is where a robustness cell of few episodes often is."""
    if n <= 0:
        return 0.0, 1.0
    phat = successes / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def mean_interval(values: list[float], z: float = Z95) -> tuple[float, float]:
    """Normal-approximation 95 % interval of a mean score (mean ± z·s/√n; the mean itself when n = 1)."""
    a = np.asarray(values, dtype=float)
    if a.size < 2:
        m = float(a.mean()) if a.size else 0.0
        return m, m
    half = z * float(a.std(ddof=1)) / np.sqrt(a.size)
    return float(a.mean() - half), float(a.mean() + half)


@dataclass
class SweepCell:
    perturbation: str  # BASELINE for the unperturbed episodes
    severity: float
    episodes: int
    success_rate: float
    mean_score: float
    safety_interventions: dict[str, int] = field(default_factory=dict)
    chunk_latency_ms: dict[str, float] | None = None
    success_ci: tuple[float, float] = (0.0, 1.0)  # Wilson 95 %
    score_ci: tuple[float, float] = (0.0, 0.0)  # mean ± 1.96 s/√n


@dataclass
class SweepReport:
    task: str
    policy: str
    seed: int
    episodes_per_cell: int
    severities: list[float]
    latency: str
    seconds: float
    baseline: SweepCell
    cells: list[SweepCell]
    backend: str = "process"
    retried: list[str] = field(default_factory=list)  # rollouts run again because their worker died

    def summary(self) -> dict:
        return asdict(self)

    def curve(self, perturbation: str) -> tuple[list[float], list[float]]:
        """(severities, success rates) of one perturbation, starting from the shared baseline."""
        cells = sorted((c for c in self.cells if c.perturbation == perturbation), key=lambda c: c.severity)
        return [0.0] + [c.severity for c in cells], [self.baseline.success_rate] + [c.success_rate for c in cells]


def _cell(name: str, severity: float, results: list[EpisodeResult]) -> SweepCell:
    return SweepCell(perturbation=name, severity=severity, episodes=len(results),
                     success_rate=float(np.mean([r.success for r in results])),
                     mean_score=float(np.mean([r.score for r in results])),
                     safety_interventions=total_interventions(results),
                     chunk_latency_ms=percentiles([x for r in results for x in r.latency_ms]),
                     success_ci=wilson_interval(sum(bool(r.success) for r in results), len(results)),
                     score_ci=mean_interval([r.score for r in results]))


def condition_label(perturbations: dict[str, float]) -> str:
    """``"baseline"`` or ``"lighting, severity 0.5"``: which sweep cell a rollout belongs to."""
    if not perturbations:
        return "baseline"
    return "; ".join(f"{name}, severity {sev:g}" for name, sev in sorted(perturbations.items()))


def rollout_line(result: EpisodeResult) -> str:
    """A finished sweep rollout for progress: its cell, seed and outcome."""
    return f"{condition_label(result.perturbations)} — {episode_line(result)}"


def run_sweep(agent: object, settings: EvalSettings, severities: tuple[float, ...] = SWEEP_SEVERITIES,
              perturbations: list[str] | None = None, progress: Progress = no_progress,
              should_stop: ShouldStop = never_stop) -> SweepReport:
    """Evaluate ``agent`` unperturbed and under every perturbation at every severity.

    ``progress(done, total, message)``: ``(0, total, ...)`` once the rollouts are known, then once
    per finished rollout (``message``: its cell, seed and outcome), so a view can show a
    determinate bar. ``should_stop`` cancels between rollouts (`Cancelled`); a cancelled sweep
    returns nothing — its cells would be incomplete — and writes nothing.
    """
    from devices.sim.perturbations import perturbation_names

    validate_settings(settings)
    names = list(perturbations) if perturbations is not None else perturbation_names()
    if not severities or any(not (0.0 < s <= 1.0) for s in severities):
        raise ValueError(f"sweep severities must be in (0, 1], got {list(severities)}")
    conditions = [(BASELINE, 0.0)] + [(n, float(s)) for n in names for s in severities]
    for name, sev in conditions[1:]:
        validate_settings(with_perturbations(settings, {name: sev}))
    seeds = [settings.seed + i for i in range(settings.episodes)]
    jobs = [(with_perturbations(settings, {} if name == BASELINE else {name: sev}), seed)
            for name, sev in conditions for seed in seeds]
    t0 = time.perf_counter()
    progress(0, len(jobs), f"{len(jobs)} rollouts: {len(conditions)} conditions × {len(seeds)} "
                           f"seed{'' if len(seeds) == 1 else 's'}")
    executor = executor_for(settings)
    results = run_jobs(agent, jobs, progress=progress, should_stop=should_stop, describe=rollout_line,
                       executor=executor)
    n = len(seeds)
    cells = [_cell(name, sev, results[i * n:(i + 1) * n]) for i, (name, sev) in enumerate(conditions)]
    return SweepReport(task=settings.task, policy=agent.name, seed=settings.seed, episodes_per_cell=n,
                       severities=[float(s) for s in severities], latency=latency_label(settings.latency_ms),
                       seconds=time.perf_counter() - t0, baseline=cells[0], cells=cells[1:],
                       backend=executor.name, retried=list(executor.retried))


def format_cell(success_rate: float, success_ci: tuple[float, float] | list[float], mean_score: float) -> str:
    """``"80% [49–94] (0.85)"``: success rate, its 95 % interval in percent, mean score (the form every
    sweep and comparison table uses, reports and views alike)."""
    lo, hi = success_ci
    return f"{success_rate:.0%} [{lo * 100:.0f}–{hi * 100:.0f}] ({mean_score:.2f})"


def cell_text(cell: SweepCell) -> str:
    return format_cell(cell.success_rate, cell.success_ci, cell.mean_score)


def sweep_markdown(report: SweepReport) -> str:
    """Success rate (mean score) per perturbation and severity, baseline in the first column."""
    sev = report.severities
    lines = [f"# Robustness sweep: {report.policy} on {report.task}", "",
             f"{report.episodes_per_cell} episodes per cell (seeds {report.seed}–"
             f"{report.seed + report.episodes_per_cell - 1}), latency {report.latency} ms. "
             "Cells: success rate [Wilson 95 % interval] (mean score).", "",
             "| perturbation | " + " | ".join(["0 (baseline)"] + [f"{s:g}" for s in sev]) + " |",
             "|---|" + "---:|" * (len(sev) + 1)]
    base = cell_text(report.baseline)
    for name in sorted({c.perturbation for c in report.cells}):
        by_sev = {c.severity: c for c in report.cells if c.perturbation == name}
        row = [base] + [cell_text(by_sev[s]) for s in sev]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_sweep(report: SweepReport, path: Path) -> None:
    """Success against severity, one line per perturbation (PNG). No global pyplot state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name in sorted({c.perturbation for c in report.cells}):
        xs, ys = report.curve(name)
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel("severity")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"{report.policy} on {report.task} ({report.episodes_per_cell} episodes per point)")
    ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="png")


def write_report_files(out_dir: str | Path, stem: str, summary: dict, markdown: str,
                       plot: Callable[[Path], None]) -> dict[str, Path]:
    """Write STEM.json, STEM.md and STEM.png into ``out_dir`` (created), each atomically, so a
    cancelled or failed run never leaves a half-written report beside a whole one."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md", "plot": out / f"{stem}.png"}
    write_text_atomic(paths["json"], json.dumps(summary, indent=2) + "\n")
    write_text_atomic(paths["markdown"], markdown)
    with atomic_path(paths["plot"]) as tmp:
        plot(tmp)
    return paths


def write_sweep(report: SweepReport, out_dir: str | Path) -> dict[str, Path]:
    """Write sweep.json, sweep.md and sweep.png into ``out_dir`` (created); returns their paths."""
    return write_report_files(out_dir, "sweep", report.summary(), sweep_markdown(report),
                              lambda path: plot_sweep(report, path))
