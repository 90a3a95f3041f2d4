"""Running many simulations (over seeds, in parallel) and showing what they measured."""
from __future__ import annotations

import math
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, TextIO

from .network import ENGINES, METRICS, Scenario, run
from .stats import mean_ci


@dataclass(frozen=True, slots=True)
class Case:
    """One row of the table: a labelled scenario under one engine."""

    label: str
    scenario: Scenario
    engine: str


def _job(args: tuple[int, Case, int]) -> tuple[int, dict[str, float], float]:
    index, case, seed = args
    started = time.perf_counter()
    metrics = run(case.scenario, case.engine, seed)
    return index, metrics, time.perf_counter() - started


class ProgressBar:
    """A one-line progress bar on a terminal (plain lines otherwise)."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total, self.done, self.width = total, 0, width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.started = time.perf_counter()
        self._last_plain = -1

    def advance(self, n: int = 1) -> None:
        self.done += n
        frac = self.done / self.total if self.total else 1.0
        elapsed = time.perf_counter() - self.started
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        if self.tty:
            fill = int(frac * self.width)
            self.stream.write(f"\r[{'#' * fill}{'.' * (self.width - fill)}] {self.done}/{self.total} runs "
                              f"{elapsed:5.0f} s elapsed, ~{eta:4.0f} s left")
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            step = int(frac * 10)
            if step != self._last_plain:
                self._last_plain = step
                self.stream.write(f"progress: {self.done}/{self.total} runs, {elapsed:.0f} s\n")
        self.stream.flush()


def run_cases(cases: list[Case], seeds: Iterable[int], jobs: int | None = None,
              progress: ProgressBar | None | bool = True) -> tuple[list[dict[str, list[float]]], float]:
    """Run every case for every seed; returns per-case metric lists and the CPU seconds spent."""
    seeds = list(seeds)
    tasks = [(i, case, seed) for i, case in enumerate(cases) for seed in seeds]
    results: list[dict[str, list[float]]] = [defaultdict(list) for _ in cases]
    bar = ProgressBar(len(tasks)) if progress is True else (progress or None)
    cpu = 0.0
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(tasks) == 1:
        outcomes: Iterable = map(_job, tasks)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork").Pool(jobs)
        outcomes = pool.imap_unordered(_job, tasks)
    try:
        for index, metrics, seconds in outcomes:
            cpu += seconds
            for key, value in metrics.items():
                results[index][key].append(value)
            if bar:
                bar.advance()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return results, cpu


COLUMNS = (
    ("failed_per_accepted", "failed/accepted", True),
    ("honest_refused", "honest refused", True),
    ("to_first_refusal", "to 1st refusal", False),
    ("free_failures", "free fail/id", False),
    ("failures_per_identity", "fail/id (all)", False),
    ("recovery", "recovery", False),
    ("recovered_within_10", "recov ≤10", True),
    ("trusted_recovered_within_10", "recov ≤10 (trusted)", True),
)


def cell(values: list[float], percent: bool) -> str:
    m, hw, n = mean_ci(values)
    if n == 0:
        return "—"
    if percent:
        return f"{100 * m:5.1f}%" + (f" ±{100 * hw:.1f}" if not math.isnan(hw) else "")
    return f"{m:5.2f}" + (f" ±{hw:.2f}" if not math.isnan(hw) else "")


def table(cases: list[Case], results: list[dict[str, list[float]]]) -> str:
    header = ["scenario", "engine", *(title for _, title, _ in COLUMNS)]
    rows = [[c.label, ENGINES[c.engine].label,
             *(cell(results[i].get(key, []), pct) for key, _, pct in COLUMNS)]
            for i, c in enumerate(cases)]
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    previous = None
    for r in rows:
        if previous is not None and r[0] != previous:
            lines.append("")
        previous = r[0]
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)))
    return "\n".join(lines)


def rows_as_json(cases: list[Case], results: list[dict[str, list[float]]]) -> list[dict]:
    """One plain object per row: the scenario, the engine, each metric's mean (fractions for rates)
    and the half-width of its 95% interval (``<metric>_ci``, null with one seed)."""
    rows = []
    for case, res in zip(cases, results):
        sc = case.scenario
        row = {"label": case.label, "n": sc.n, "malicious": sc.malicious, "attack": sc.attack,
               "engine": case.engine, "policy": ENGINES[case.engine].policy, "liars": sc.liars,
               "warmup": sc.warmup_per_pair,
               "measure": sc.newcomer_meetings if sc.newcomer else sc.measure_per_pair,
               "newcomer": sc.newcomer, "pinned": sc.pinned,
               "seeds": len(res.get("failed_per_accepted", []))}
        for key in METRICS:
            m, hw, n = mean_ci(res.get(key, []))
            row[key] = None if n == 0 or math.isnan(m) else m
            row[f"{key}_ci"] = None if n == 0 or math.isnan(hw) else hw
        rows.append(row)
    return rows


def summary(values: list[float]) -> float:
    return mean_ci(values)[0]


def chart(path: str, cases: list[Case], results: list[dict[str, list[float]]],
          sweeps: dict[str, tuple[str, list[tuple[float, str, dict[str, list[float]]]]]] | None = None,
          note: Callable[[str], None] = print) -> bool:
    """Write a PNG: failed/accepted and honest refused per scenario and engine, plus sweeps.

    ``sweeps`` maps a title to (x-axis name, [(x, engine, results)]). Returns False (and
    says why) if matplotlib is not installed.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        note("chart skipped: matplotlib is not installed (pip install matplotlib)")
        return False
    sweeps = sweeps or {}
    labels = list(dict.fromkeys(c.label for c in cases))
    engines = list(dict.fromkeys(c.engine for c in cases))
    panels = 2 + len(sweeps)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.8))
    width = 0.8 / max(1, len(engines))
    for ax, key, title in ((axes[0], "failed_per_accepted", "failed / accepted collaborations"),
                           (axes[1], "honest_refused", "honest requests refused")):
        for j, eng in enumerate(engines):
            means, errs = [], []
            for label in labels:
                idx = next((i for i, c in enumerate(cases) if c.label == label and c.engine == eng), None)
                m, hw, _ = mean_ci(results[idx].get(key, [])) if idx is not None else (math.nan, math.nan, 0)
                means.append(100 * m)
                errs.append(0 if math.isnan(hw) else 100 * hw)
            xs = [x + j * width for x in range(len(labels))]
            ax.bar(xs, means, width, yerr=errs, label=ENGINES[eng].label, capsize=2)
        ax.set_xticks([x + width * (len(engines) - 1) / 2 for x in range(len(labels))])
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("%")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    for ax, (title, (xname, points)) in zip(axes[2:], sweeps.items()):
        by_engine: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for x, eng, res in points:
            m, hw, _ = mean_ci(res)
            by_engine[eng].append((x, 100 * m, 0 if math.isnan(hw) else 100 * hw))
        for eng, pts in by_engine.items():
            pts.sort()
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts],
                        label=ENGINES[eng].label, marker="o", capsize=2)
        ax.set_xlabel(xname)
        ax.set_ylabel("%")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
