"""Compare checkpoints by how they degrade: one robustness sweep per checkpoint, one report.

Each checkpoint runs `policy.sweep.run_sweep` with the same settings and seeds, so a difference
between two columns is the checkpoints' doing. The report puts, for every perturbation and
severity (and the unperturbed baseline), each checkpoint's success rate with its Wilson 95 %
interval and its mean score with its interval, as JSON (`compare.json`), Markdown (`compare.md`)
and one plot (`compare.png`: a panel per perturbation, a line with error bars per checkpoint).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from policy.sweep import BASELINE, SWEEP_SEVERITIES, SweepCell, SweepReport, cell_text, run_sweep, write_report_files
from recorder.jobs import Progress, ShouldStop, never_stop, no_progress

CHECKPOINT_GLOB = "checkpoints/*.safetensors"


def run_checkpoints(run_dir: str | Path) -> list[Path]:
    """Every checkpoint file of a training run, sorted by name (ValueError, one line, if none)."""
    run = Path(run_dir)
    found = sorted(run.glob(CHECKPOINT_GLOB))
    if not found:
        raise ValueError(f"{str(run)!r} holds no {CHECKPOINT_GLOB}: is it a training run directory?")
    return found


def checkpoint_label(source: str | Path) -> str:
    """A short column name: ``expert``, ``RUN`` for a run directory, ``RUN/best`` for one of its files."""
    p = Path(source)
    if p.suffix == ".safetensors" and p.parent.name == "checkpoints":
        return f"{p.parent.parent.name}/{p.stem}"
    return p.name or str(source)


@dataclass
class CompareReport:
    task: str
    seed: int
    episodes_per_cell: int
    severities: list[float]
    latency: str
    labels: list[str]
    sources: list[str]
    sweeps: list[SweepReport]

    def conditions(self) -> list[tuple[str, float]]:
        """(perturbation, severity) rows, the baseline first, in the first sweep's order."""
        first = self.sweeps[0]
        return [(BASELINE, 0.0)] + sorted({(c.perturbation, c.severity) for c in first.cells})

    def cell(self, k: int, perturbation: str, severity: float) -> SweepCell:
        sweep = self.sweeps[k]
        if perturbation == BASELINE:
            return sweep.baseline
        return next(c for c in sweep.cells if c.perturbation == perturbation and c.severity == severity)

    def summary(self) -> dict:
        rows = []
        for name, sev in self.conditions():
            row = {"perturbation": name, "severity": sev, "checkpoints": {}}
            for k, label in enumerate(self.labels):
                c = self.cell(k, name, sev)
                row["checkpoints"][label] = {"episodes": c.episodes, "success_rate": c.success_rate,
                                             "success_ci": list(c.success_ci), "mean_score": c.mean_score,
                                             "score_ci": list(c.score_ci)}
            rows.append(row)
        return {"task": self.task, "seed": self.seed, "episodes_per_cell": self.episodes_per_cell,
                "severities": self.severities, "latency": self.latency,
                "checkpoints": [{"label": lab, "source": src, "policy": sw.policy, "seconds": sw.seconds,
                                 "backend": sw.backend, "retried": sw.retried}
                                for lab, src, sw in zip(self.labels, self.sources, self.sweeps, strict=True)],
                "rows": rows}


def compare_checkpoints(agents: list[tuple[str, str, object, object]], severities: tuple[float, ...] = SWEEP_SEVERITIES,
                        perturbations: list[str] | None = None, progress: Progress = no_progress,
                        should_stop: ShouldStop = never_stop) -> CompareReport:
    """Sweep each ``(label, source, agent, settings)`` in turn; progress counts over all of them.

    Labels must be distinct (they are the report's columns). A cancel (`Cancelled`) returns nothing.
    """
    from devices.sim.perturbations import perturbation_names

    labels = [a[0] for a in agents]
    if not agents:
        raise ValueError("nothing to compare: name at least one checkpoint")
    if len(set(labels)) != len(labels):
        raise ValueError(f"two checkpoints would share a column name ({', '.join(labels)}): name distinct files")
    names = list(perturbations) if perturbations is not None else perturbation_names()
    per_sweep = [s.episodes * (1 + len(names) * len(severities)) for _, _, _, s in agents]
    grand = sum(per_sweep)
    sweeps = []
    for k, (label, _source, agent, settings) in enumerate(agents):
        offset = sum(per_sweep[:k])
        sweeps.append(run_sweep(agent, settings, severities, names, progress=_shifted(progress, offset, grand, label),
                                should_stop=should_stop))
    first = agents[0][3]
    return CompareReport(task=first.task, seed=first.seed, episodes_per_cell=first.episodes,
                         severities=[float(s) for s in severities], latency=sweeps[0].latency, labels=labels,
                         sources=[a[1] for a in agents], sweeps=sweeps)


def _shifted(progress: Progress, offset: int, total: int, label: str) -> Callable[..., None]:
    def report(done: int, _total: int, message: str = "") -> None:
        progress(offset + done, total, f"{label}: {message}")

    return report


def compare_markdown(report: CompareReport) -> str:
    """One row per perturbation and severity, one column per checkpoint."""
    lines = [f"# Robustness by checkpoint on {report.task}", "",
             f"{report.episodes_per_cell} episodes per cell (seeds {report.seed}–"
             f"{report.seed + report.episodes_per_cell - 1}, the same for every checkpoint), latency "
             f"{report.latency} ms. Cells: success rate [Wilson 95 % interval] (mean score).", "",
             "| perturbation | severity | " + " | ".join(report.labels) + " |",
             "|---|---:|" + "---:|" * len(report.labels)]
    for name, sev in report.conditions():
        cells = [cell_text(report.cell(k, name, sev)) for k in range(len(report.labels))]
        lines.append(f"| {'baseline' if name == BASELINE else name} | {sev:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_compare(report: CompareReport, path: Path) -> None:
    """A panel per perturbation: success against severity (from the baseline at 0) per checkpoint,
    with the Wilson intervals as error bars (PNG, Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = sorted({c.perturbation for c in report.sweeps[0].cells})
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(4.0 * cols, 3.2 * rows + 0.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, name in enumerate(names):
        ax = axes[i // cols][i % cols]
        for k, label in enumerate(report.labels):
            cells = [report.cell(k, BASELINE, 0.0)] + sorted(
                (c for c in report.sweeps[k].cells if c.perturbation == name), key=lambda c: c.severity)
            xs = [0.0] + [c.severity for c in cells[1:]]
            ys = [c.success_rate for c in cells]
            err = [[y - c.success_ci[0] for y, c in zip(ys, cells, strict=True)], [c.success_ci[1] - y for y, c in zip(ys, cells, strict=True)]]
            shift = (k - (len(report.labels) - 1) / 2) * 0.012  # keep overlapping bars apart
            ax.errorbar([x + shift for x in xs], ys, yerr=err, marker="o", capsize=3, label=label)
        ax.set_title(name, fontsize="medium")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(-0.05, 1.05)
        ax.set_xlabel("severity")
        ax.set_ylabel("success rate")
        ax.grid(alpha=0.3)
    for j in range(len(names), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    axes[0][0].legend(loc="lower left", fontsize="small")
    fig.suptitle(f"success by checkpoint on {report.task} ({report.episodes_per_cell} episodes per point, "
                 "Wilson 95 % intervals)", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, format="png")


def write_compare(report: CompareReport, out_dir: str | Path) -> dict[str, Path]:
    """Write compare.json, compare.md and compare.png into ``out_dir`` (created); returns their paths."""
    return write_report_files(out_dir, "compare", report.summary(), compare_markdown(report),
                              lambda path: plot_compare(report, path))
