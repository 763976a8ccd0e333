#!/usr/bin/env python3
"""Figures from cordsim runs (matplotlib, no display needed).

    tools/plotting/cordsim_plots.py RUN_DIR [RUN_DIR ...] [--out DIR] [--cohort COHORT.csv]

Makes, in --out (default: figures/ in the first run, or ./figures for several runs):
  totals.png        the tissue total of every species over time, one line per run (the arms of an
                    experiment), from each run's mass_budget.csv;
  survival.png      with --cohort: Kaplan–Meier survival across a cohort. COHORT.csv has columns
                    run,time_d,event (event 1 = end stage reached at time_d, 0 = censored then).

The Kaplan–Meier estimator: S(t) = Π_{t_i ≤ t} (1 − d_i / n_i), with d_i the events at time t_i
and n_i the animals still at risk just before t_i (censored animals leave the risk set after
their time).
"""
import argparse
import csv
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_mass_budget(run_dir: Path):
    """{column: [values]} from RUN_DIR/mass_budget.csv; raises SystemExit naming a missing file."""
    path = run_dir / "mass_budget.csv"
    if not path.exists():
        raise SystemExit(f"cordsim_plots: {path} not found (is {run_dir} a cordsim output directory?)")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"cordsim_plots: {path} has no rows")
    return {key: [float(r[key]) for r in rows] for key in rows[0]}


def kaplan_meier(times, events):
    """Returns ([t_0 = 0, t_1, ...], [1, S(t_1), ...]) at the distinct event times."""
    if len(times) != len(events):
        raise ValueError("times and events differ in length")
    data = sorted(zip(times, events))
    at_risk = len(data)
    steps_t, steps_s = [0.0], [1.0]
    survival = 1.0
    i = 0
    while i < len(data):
        t = data[i][0]
        deaths = censored = 0
        while i < len(data) and data[i][0] == t:
            deaths += 1 if data[i][1] else 0
            censored += 0 if data[i][1] else 1
            i += 1
        if deaths:
            survival *= 1.0 - deaths / at_risk
            steps_t.append(t)
            steps_s.append(survival)
        at_risk -= deaths + censored
    return steps_t, steps_s


def plot_totals(runs, out: Path):
    budgets = {run: read_mass_budget(run) for run in runs}
    species = [c[: -len("_total_amol")] for c in next(iter(budgets.values())) if c.endswith("_total_amol")]
    fig, axes = plt.subplots(len(species), 1, figsize=(7, 2.6 * len(species)), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], species):
        for run, budget in budgets.items():
            if f"{name}_total_amol" in budget:
                ax.plot(budget["time_s"], budget[f"{name}_total_amol"], marker=".", label=run.name)
        ax.set_ylabel(f"{name} in tissue (amol)")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(fontsize="small")
    fig.suptitle("Tissue totals (mass budget)")
    fig.tight_layout()
    path = out / "totals.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_survival(cohort_csv: Path, out: Path):
    with cohort_csv.open() as f:
        rows = list(csv.DictReader(f))
    missing = {"run", "time_d", "event"} - set(rows[0] if rows else {})
    if missing:
        raise SystemExit(f"cordsim_plots: {cohort_csv} lacks columns {sorted(missing)}")
    groups = {}
    for r in rows:
        arm = r.get("arm", "cohort")
        groups.setdefault(arm, ([], []))
        groups[arm][0].append(float(r["time_d"]))
        groups[arm][1].append(int(r["event"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    for arm, (times, events) in groups.items():
        t, s = kaplan_meier(times, events)
        ax.step(t + [max(times)], s + [s[-1]], where="post", label=f"{arm} (n = {len(times)})")
    ax.set_xlabel("age (days)")
    ax.set_ylabel("survival (Kaplan–Meier)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path = out / "survival.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Figures from cordsim runs")
    parser.add_argument("runs", nargs="+", type=Path, help="run output directories")
    parser.add_argument("--out", type=Path, help="folder for the PNGs")
    parser.add_argument("--cohort", type=Path, help="CSV with run,time_d,event[,arm] for survival curves")
    args = parser.parse_args(argv)
    out = args.out or (args.runs[0] / "figures" if len(args.runs) == 1 else Path("figures"))
    os.makedirs(out, exist_ok=True)
    written = [plot_totals(args.runs, out)]
    if args.cohort:
        written.append(plot_survival(args.cohort, out))
    for path in written:
        print(f"cordsim_plots: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
