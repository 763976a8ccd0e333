#!/usr/bin/env python3
"""Figures from cordsim runs (matplotlib, no display needed).

    tools/plotting/cordsim_plots.py RUN_DIR [RUN_DIR ...] [--out DIR] [--cohort COHORT.csv]

Makes, in --out (default: figures/ in the first run, or ./figures for several runs):
  totals.png        the tissue total of every species over time, one line per run (the arms of an
                    experiment), from each run's mass_budget.csv: in days when a run's times are
                    (time_d, an ALS run), else in seconds (time_s, a transport run);
  survival.png      with --cohort: Kaplan–Meier survival across a cohort. COHORT.csv has columns
                    run,time_d,event (event 1 = end stage reached at time_d, 0 = censored then),
                    or is a sweep's sweep_results.csv (cordsim sweep --collect): then time_d is its
                    end_stage_d and a run that never reached end stage is censored at its end;
and, for runs of the ALS model (those with a readouts.csv):
  mn_and_locomotor.png   surviving lumbar MN fraction and BBB locomotor score over time, per run;
  mn_per_section.png     MNs per ventral horn per virtual Nissl section by segment, at the end of
                         each run;
  evans_blue.png         Evans Blue µg/g per region (gray, white, gray per segment) of every assay.

The Kaplan–Meier estimator: S(t) = Π_{t_i ≤ t} (1 − d_i / n_i), with d_i the events at time t_i
and n_i the animals still at risk just before t_i (censored animals leave the risk set after
their time).
"""
import argparse
import csv
import math
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


SECONDS_PER = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def budget_time(budget, path="mass_budget.csv"):
    """(unit, times) of a mass budget: its time_<unit> column (time_s, or time_d for an ALS run)."""
    for unit in ("d", "s", "h", "min"):
        if f"time_{unit}" in budget:
            return unit, budget[f"time_{unit}"]
    raise SystemExit(f"cordsim_plots: {path} has no time column (time_s or time_d)")


def totals_time_axes(budgets):
    """[(x-axis label, {run: times})] of the totals plot of {run: mass budget}: one column per time
    unit among the runs (days for ALS runs, seconds for transport runs), so that a run of seconds
    drawn beside one of months is not a dot at t = 0."""
    own = {run: budget_time(b, run / "mass_budget.csv") for run, b in budgets.items()}
    columns = []
    for unit in sorted({u for u, _ in own.values()}, key=lambda u: -SECONDS_PER[u]):
        times = {run: t for run, (u, t) in own.items() if u == unit}
        columns.append(({"d": "time (days)", "s": "time (s)"}.get(unit, f"time ({unit})"), times))
    return columns


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
    species = []
    for budget in budgets.values():
        species += [c[: -len("_total_amol")] for c in budget
                    if c.endswith("_total_amol") and c[: -len("_total_amol")] not in species]
    columns = totals_time_axes(budgets)
    # One column per time unit, each with the species its runs have; the amount is shaded down to 0.
    fig = plt.figure(figsize=(7 if len(columns) == 1 else 5 * len(columns), 2.6 * len(species)),
                     layout="constrained")
    subfigures = fig.subfigures(1, len(columns)) if len(columns) > 1 else [fig]
    for sub, (xlabel, times) in zip(subfigures, columns):
        own = [name for name in species if any(f"{name}_total_amol" in budgets[run] for run in times)]
        axes = sub.subplots(len(own), 1, sharex=True, squeeze=False)[:, 0]
        for ax, name in zip(axes, own):
            for run in times:
                if f"{name}_total_amol" in budgets[run]:
                    line, = ax.plot(times[run], budgets[run][f"{name}_total_amol"], marker=".", label=run.name)
                    ax.fill_between(times[run], budgets[run][f"{name}_total_amol"], color=line.get_color(), alpha=0.2)
            ax.set_ylabel(f"{name} in tissue (amol)")
            ax.grid(alpha=0.3)
        axes[-1].set_xlabel(xlabel)
        axes[0].legend(fontsize="small")
    fig.suptitle("Tissue totals (mass budget)")
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
    ax.set_ylabel("surviving fraction (Kaplan–Meier)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path = out / "survival.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def read_readouts(run_dir: Path):
    """Rows of RUN_DIR/readouts.csv as dicts: 'label' a string, every other column a float (NaN if empty)."""
    path = run_dir / "readouts.csv"
    if not path.exists():
        raise SystemExit(f"cordsim_plots: {path} not found (not a run of the ALS model?)")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return [{k: (v if k == "label" else (float(v) if v else math.nan)) for k, v in r.items()} for r in rows]


def read_events(run_dir: Path):
    """{milestone: day} from RUN_DIR/events.csv."""
    with (run_dir / "events.csv").open() as f:
        return {r["label"]: float(r["time_d"]) for r in csv.DictReader(f) if r["kind"] == "milestone"}


def plot_mn_and_locomotor(runs, out: Path, title="", align_to=None):
    """MN fraction and BBB score over time; `runs` maps a label to a run directory. With
    `align_to` (a milestone), time is counted from it (e.g. Magota day 0 = early_disease)."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for label, run in runs.items():
        rows = [r for r in read_readouts(Path(run)) if r["label"] == ""]
        shift = read_events(Path(run)).get(align_to, 0.0) if align_to else 0.0
        t = [r["time_d"] - shift for r in rows]
        top.plot(t, [r["mn_fraction"] for r in rows], label=label)
        bottom.plot(t, [r["bbb_score"] for r in rows], label=label)
    top.set_ylabel("lumbar MN pool (surviving fraction)")
    bottom.set_ylabel("BBB locomotor score (0–21)")
    bottom.set_xlabel(f"days after {align_to.replace('_', ' ')}" if align_to else "age (days)")
    if align_to:
        bottom.set_xlim(-20, 30)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title or "MN pool and locomotor score")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_mn_per_section(runs, label, out: Path):
    """MNs per ventral horn per section by segment at the readout row `label` (or the last row)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(1, len(runs))
    for n, (name, run) in enumerate(runs.items()):
        rows = read_readouts(Path(run))
        row = next((r for r in rows if r["label"] == label), rows[-1])
        segments = [k[len("mn_per_section_"):] for k in row if k.startswith("mn_per_section_")]
        ax.bar([i + n * width for i in range(len(segments))], [row["mn_per_section_" + s] for s in segments], width,
               label=f"{name} (day {row['time_d']:.0f})")
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(segments))], segments)
    ax.set_xlabel("lumbar segment")
    ax.set_ylabel("MNs per ventral horn per section (cells)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_spread(runs, out: Path, title: str):
    """The rostro-caudal spread of the disease: MN loss per segment over time (readouts.csv
    mn_loss_<segment>), one heat map per run, with each segment's onset day (summary.json) marked."""
    import json
    fig, axes = plt.subplots(len(runs), 1, figsize=(8, 1.2 + 1.6 * len(runs)), squeeze=False, sharex=True)
    image = None
    for ax, (name, run) in zip(axes[:, 0], runs.items()):
        rows = [r for r in read_readouts(Path(run)) if r["label"] == ""]
        segments = [k[len("mn_loss_"):] for k in rows[0] if k.startswith("mn_loss_")]
        days = [r["time_d"] for r in rows]
        loss = [[100 * r["mn_loss_" + s] for r in rows] for s in segments]
        image = ax.pcolormesh(days, range(len(segments)), loss, shading="nearest", cmap="magma_r", vmin=0, vmax=100)
        summary = json.loads((Path(run) / "summary.json").read_text())
        onsets = [summary.get(f"onset_{s}_d") for s in segments]
        ax.plot([d if d is not None else float("nan") for d in onsets], range(len(segments)), "o", color="tab:cyan",
                markersize=4, label="segment onset")
        ax.set_yticks(range(len(segments)), segments)
        ax.set_ylabel("segment\n(rostral → caudal)")
        ax.invert_yaxis()
        ax.set_title(name, fontsize="medium")
    axes[0, 0].legend(fontsize="small", loc="lower left")
    axes[-1, 0].set_xlabel("time (d)")
    fig.suptitle(title)
    fig.colorbar(image, ax=axes[:, 0], label="MN loss (%)")
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def assay_name(row):
    """'day 123.25 (day14)': an Evans Blue assay's day (the animal's age) and its scenario label."""
    day = f"day {float(row['time_d']):g}"
    label = row.get("label", "")
    return f"{day} ({label})" if label and label != "assay" else day


def evans_blue_title(rows):
    """The Evans Blue figure's title, naming the assay day(s)."""
    days = sorted({float(r["time_d"]) for r in rows})
    listed = ", ".join(f"{d:g}" for d in days)
    return f"Evans Blue extravasation per region, assay {'day' if len(days) == 1 else 'days'} {listed} (age, d)"


def plot_evans_blue(runs, out: Path):
    """Evans Blue µg/g per region for every assay of every run (evans_blue.csv), titled with the
    assay days."""
    bars = []
    for name, run in runs.items():
        path = Path(run) / "evans_blue.csv"
        if not path.exists():
            continue
        with path.open() as f:
            for r in csv.DictReader(f):
                bars.append((f"{name}, {assay_name(r)}", r))
    if not bars:
        return None
    regions = [k for k in bars[0][1] if k.startswith("eb_")]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(bars)
    for n, (label, r) in enumerate(bars):
        ax.bar([i + n * width for i in range(len(regions))], [float(r[k]) if r[k] else math.nan for k in regions],
               width, label=label)
    names = [k[3:].replace("_ug_per_g", "").replace("_", " ") for k in regions]
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(regions))], names)
    ax.set_xlabel("region (all gray matter, all white matter, gray matter of each segment)")
    ax.set_ylabel("Evans Blue (µg/g tissue)")
    ax.set_title(evans_blue_title([r for _, r in bars]))
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_cross_sections(run: Path, fields, segment: str, out: Path):
    """Axial slices (middle of `segment`) of `fields` in the last frame of RUN/cordsim.h5."""
    import h5py
    import numpy as np

    with h5py.File(Path(run) / "cordsim.h5", "r") as f:
        segment_index = f["grid/segment"][...]
        # long_name "segment: 0 outside, 1 L1, 2 L2, ..." names the indices.
        described = f["grid/segment"].attrs.get("long_name", b"")
        described = described.decode() if isinstance(described, bytes) else str(described)
        names = {}
        for item in described.split(":", 1)[-1].split(","):
            parts = item.split()
            if len(parts) == 2 and parts[0].isdigit():
                names[parts[1]] = int(parts[0])
        label = names.get(segment, int(np.max(segment_index) // 2 + 1))
        planes = np.where((segment_index == label).any(axis=(1, 2)))[0]
        k = int(planes[len(planes) // 2]) if len(planes) else segment_index.shape[0] // 2
        when = time_text(f)
        frame = sorted(f["fields"][fields[0]].keys())[-1]
        slices = [f["fields"][name][frame][k, :, :] for name in fields]
        units = [f["fields"][name][frame].attrs.get("units", b"") for name in fields]
        mask = f["grid/tissue_mask"][k, :, :] > 0
        spacing = f.attrs.get("spacing_um", [1.0, 1.0, 1.0])
        z = float(f.attrs.get("origin_um", [0, 0, 0])[2] + (k + 0.5) * spacing[2])
    fig, axes = plt.subplots(1, len(fields), figsize=(4.5 * len(fields), 3.8))
    for ax, name, data, unit in zip(np.atleast_1d(axes), fields, slices, units):
        shown = np.where(mask, data, np.nan)
        image = ax.imshow(shown[::-1, :], cmap="magma")  # dorsal (+y) up
        unit = unit.decode() if isinstance(unit, bytes) else str(unit)
        fig.colorbar(image, ax=ax, label=f"{name} ({unit})" if unit and unit != "1" else name)
        ax.set_title(f"{name}, {when}\nsegment {segment}, z = {z / 1000:.2f} mm", fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])
        scale_bar(ax, float(spacing[0]), data.shape[1])
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def time_text(h5):
    """'day 150' (an ALS run, times in days) or 't = 120 s': the last output time of an open
    cordsim.h5, in its own time unit."""
    last = float(h5["times"][-1])
    unit = h5["times"].attrs.get("time_unit", h5.attrs.get("time_unit", b"s"))
    unit = unit.decode() if isinstance(unit, bytes) else str(unit)
    return f"day {last:g}" if unit == "d" else f"t = {last:g} {unit}"


def nice_length(span_um):
    """A scale-bar length of 1, 2 or 5 times a power of ten, about a quarter of `span_um`."""
    target = max(span_um / 4.0, 1e-9)
    power = 10.0 ** math.floor(math.log10(target))
    return next(step * power for step in (5.0, 2.0, 1.0) if step * power <= target * (1 + 1e-12))


def scale_bar(ax, voxel_um, voxels_across):
    """A scale bar at the lower left of an image axis whose pixels are voxels of `voxel_um`."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
    length = nice_length(voxel_um * voxels_across)
    label = f"{length / 1000:g} mm" if length >= 1000 else f"{length:g} µm"
    ax.add_artist(AnchoredSizeBar(ax.transData, length / voxel_um, label, "lower left", pad=0.3, frameon=False,
                                  size_vertical=0.15, color="black"))


def cohort_from_sweep(sweep_csv: Path, out_csv: Path, end_day: float):
    """run,time_d,event rows from a sweep's collected table (end_stage_d; empty = censored)."""
    with sweep_csv.open() as f:
        rows = list(csv.DictReader(f))
    with out_csv.open("w") as f:
        f.write("run,time_d,event\n")
        for i, r in enumerate(rows):
            end = r.get("end_stage_d", "")
            censored_at = float(r["final_time_s"]) / 86400 if r.get("final_time_s") else end_day
            f.write(f"{r.get('row', i)},{end if end else censored_at},{1 if end else 0}\n")
    return out_csv


def main(argv=None):
    parser = argparse.ArgumentParser(description="Figures from cordsim runs")
    parser.add_argument("runs", nargs="+", type=Path, help="run output directories")
    parser.add_argument("--out", type=Path, help="folder for the PNGs")
    parser.add_argument("--cohort", type=Path, help="CSV with run,time_d,event[,arm] for survival curves")
    args = parser.parse_args(argv)
    out = args.out or (args.runs[0] / "figures" if len(args.runs) == 1 else Path("figures"))
    os.makedirs(out, exist_ok=True)
    written = [plot_totals(args.runs, out)]
    model_runs = {run.name: run for run in args.runs if (run / "readouts.csv").exists()}
    if model_runs:
        written.append(plot_mn_and_locomotor(model_runs, out / "mn_and_locomotor.png"))
        written.append(plot_mn_per_section(model_runs, None, out / "mn_per_section.png"))
        eb = plot_evans_blue(model_runs, out / "evans_blue.png")
        if eb:
            written.append(eb)
    if args.cohort:
        cohort = args.cohort
        with cohort.open() as f:
            header = f.readline()
        if "end_stage_d" in header:  # a sweep's sweep_results.csv
            cohort = cohort_from_sweep(cohort, out / "cohort.csv", float("nan"))
        written.append(plot_survival(cohort, out))
    for path in written:
        print(f"cordsim_plots: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
