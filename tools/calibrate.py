#!/usr/bin/env python3
"""Runs the ALS calibration scenarios and reports every target of science.md §5.

Runs the scenarios of scenarios/als that carry calibration targets (at their default coarse
resolution, or the smoke grid with --quick), reads their summary.json / readouts.csv /
evans_blue.csv, and returns a Markdown section: a table (target, source, allowed range, model
value, pass/fail) and figures (MN pool and locomotor score over time per arm, Evans Blue by
region, cross-sections of NO and activated microglia). tools/validation.py puts the section into
docs/validation.md; run alone it prints the section.

    /usr/bin/python3 tools/calibrate.py [--build build] [--quick] [--work DIR] [--figures DIR]

Needs Debian's python3 (matplotlib, h5py, numpy).
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools" / "plotting"))
import cordsim_plots  # noqa: E402

SCENARIOS = ["wild_type_rat", "rat_sod1g93a", "rat_magota_vehicle", "rat_magota_msc_single",
             "mouse_loxsod1g37r", "mouse_cre_astrocytes", "tardbp_endothelium", "tardbp_cytokines", "tardbp_chir",
             "wild_type_cytokines"]
QUICK_GRID = 'geometry.voxel=["200 um", "200 um", "400 um"]'


def run_one(cordsim: Path, out: Path, scenario: Path, extra, label: str):
    """One `cordsim run` on one thread (run_all runs two at a time: on 2 cores two one-thread runs
    finish sooner than two-thread runs one after the other)."""
    command = [str(cordsim), "run", str(scenario), "--out", str(out), "--overwrite", "--threads", "1"] + extra
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"calibrate: {label} failed:\n{done.stderr[-2000:]}")
    print(f"calibrate: ran {label}", file=sys.stderr)
    return out


def run_all(cordsim: Path, work: Path, quick: bool, reuse: bool = False):
    runs, jobs = {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for name in SCENARIOS:
            out = work / name
            if reuse and (out / "summary.json").exists():
                runs[name] = out
                continue
            extra = ["--set", QUICK_GRID] if quick else []
            jobs[name] = pool.submit(run_one, cordsim, out, REPO / "scenarios" / "als" / f"{name}.toml", extra, name)
        for name, job in jobs.items():
            runs[name] = job.result()
    return {name: runs[name] for name in SCENARIOS}


def summary(run: Path):
    return {k: (math.nan if v is None else v) for k, v in json.loads((run / "summary.json").read_text()).items()}


def readout_at(run: Path, day: float):
    """The readouts.csv row nearest to `day` (unlabelled rows)."""
    rows = [r for r in cordsim_plots.read_readouts(run) if r["label"] == ""]
    return min(rows, key=lambda r: abs(r["time_d"] - day))


def loss_at_end_stage(run: Path):
    """Lumbar MN loss (all segments) at the end-stage row of readouts.csv (label end_stage, or the
    first row at or after the end-stage day)."""
    rows = cordsim_plots.read_readouts(run)
    end = summary(run)["end_stage_d"]
    if not math.isfinite(end):
        return math.nan
    row = next((r for r in rows if r["label"] == "end_stage"), None) or next(r for r in rows if r["time_d"] >= end)
    return 1.0 - row["mn_fraction"]


def targets(runs):
    s = {name: summary(path) for name, path in runs.items()}
    rat, veh, msc = s["rat_sod1g93a"], s["rat_magota_vehicle"], s["rat_magota_msc_single"]
    nh, exc = s["mouse_loxsod1g37r"], s["mouse_cre_astrocytes"]
    wt0 = readout_at(runs["wild_type_rat"], 0)
    tardbp = {name: readout_at(runs[name], 20) for name in ("wild_type_rat", "tardbp_endothelium", "tardbp_cytokines",
                                                            "tardbp_chir")}
    tnf_wt = readout_at(runs["wild_type_rat"], 20)["tnf_gray_pM"]
    cyto = readout_at(runs["wild_type_cytokines"], 20)
    inf = math.inf
    rows = [
        # (target number, target, source (and the spread it allows), allowed (lo, hi), model value, unit)
        ("1", "NO apparent decay, perfused gray matter", "Santos 2011 (H): 0.67–0.84", (0.67, 0.84), wt0["no_decay_gray_per_s"], "1/s"),
        ("1", "NO apparent decay, white matter", "science.md §4: ~0.35", (0.25, 0.45), wt0["no_decay_white_per_s"], "1/s"),
        ("1", "NO in perfused MN pools at disease-level microglia (rat, Magota day 7)", "science.md §5: 10–100 nM",
         (10, 100), veh["day7_no_pools_nM"], "nM"),
        ("2", "cytokine signalling range sqrt(D/k), TNF-α", "science.md §3: 230–450 µm", (230, 450),
         math.sqrt(23 / 2e-4), "µm"),
        ("2", "cytokine equilibration over 250 µm, r²/(4D), TNF-α", "science.md §5: 10–30 min", (10, 30),
         250 ** 2 / (4 * 23) / 60, "min"),
        ("2", "TNF-α, SOD1G93A rat at onset / wild type", "science.md §4: 1.5–3×", (1.5, 3.0),
         rat["onset_tnf_gray_pM"] / tnf_wt, "×"),
        ("3", "SOD1G93A rat onset", "Howland 2002: ≈115 d, 95–125", (95, 125), rat["onset_d"], "d"),
        ("3", "SOD1G93A rat end stage after onset", "Howland 2002: ≈11 d; ±4 d", (7, 15), rat["disease_duration_d"], "d"),
        ("3", "Evans Blue gray before symptoms (day 90), normal cord", "Nicaise 2009; science.md §4: 1–5 µg/g", (1, 5),
         rat["presymptomatic_eb_gray_ug_per_g"], "µg/g"),
        ("3", "Evans Blue gray, Magota day 14 / before symptoms", "Nicaise 2009: only after symptoms; PS 2–5× (§4)",
         (1.5, 5), rat["day14_eb_gray_ug_per_g"] / rat["presymptomatic_eb_gray_ug_per_g"], "×"),
        ("3", "MN pool left on Magota day 14", "Magota 2021: loss evident", (0, 0.85), veh["day14_mn_fraction"], ""),
        ("4", "MN per section L4, MSC / vehicle, day 14", "Magota 2021: more MNs", (1.0001, inf),
         msc["day14_mn_per_section_L4"] / veh["day14_mn_per_section_L4"], "×"),
        ("4", "gray Evans Blue, MSC / vehicle, day 14", "Magota 2021: less leakage", (0, 0.9999),
         msc["day14_eb_gray_ug_per_g"] / veh["day14_eb_gray_ug_per_g"], "×"),
        ("4", "BBB score, MSC − vehicle, day 7", "Magota 2021: slower decline", (1e-6, inf),
         msc["day7_bbb_score"] - veh["day7_bbb_score"], "points"),
        ("4", "BBB score, MSC − vehicle, day 14", "Magota 2021: slower decline", (1e-6, inf),
         msc["day14_bbb_score"] - veh["day14_bbb_score"], "points"),
        ("4", "neurturin gray on day 1, MSC / vehicle", "Magota 2021: mRNA up on day 1 (fold ≥ 1.5)", (1.5, inf),
         msc["day1_nrtn_gray_pM"] / veh["day1_nrtn_gray_pM"], "×"),
        ("4", "MSC in the lumbar cord on day 1 / dose", "science.md §4: ≪1%", (0, 1e-3), msc["day1_msc_tissue_cells"] / 1e6, ""),
        ("4", "systemic MSC signal, day 14 / day 1 (transient)", "Magota 2021: single dose transient", (0, 0.2),
         msc["day14_msc_signal"] / msc["day1_msc_signal"], "×"),
        ("5", "LoxSOD1G37R end stage", "Boillée 2006: 8.5–11 months", (255, 335), nh["end_stage_d"], "d"),
        ("5", "LoxSOD1G37R disease duration", "Yamanaka 2008: ≈39 d; ±10 d", (29, 49), nh["disease_duration_d"], "d"),
        ("5", "astrocyte excision: onset change", "Yamanaka 2008: unchanged (±5%)", (-5, 5),
         100 * (exc["onset_d"] / nh["onset_d"] - 1), "%"),
        ("5", "astrocyte excision: duration ratio", "Yamanaka 2008: ×2.2 (39 → 87 d); ±0.4", (1.8, 2.6),
         exc["disease_duration_d"] / nh["disease_duration_d"], "×"),
        ("5", "astrocyte excision: survival gain", "Yamanaka 2008: ≈+60 d; ±20 d", (40, 80), exc["end_stage_d"] - nh["end_stage_d"], "d"),
        ("5", "activated microglia at end stage, excised / untreated", "Yamanaka 2008: fewer", (0, 0.9999),
         exc["end_stage_activated_microglia_gray_per_mm3"] / nh["end_stage_activated_microglia_gray_per_mm3"], "×"),
        ("5", "correlation mutant-free astrocytes vs activated microglia, end stage", "Yamanaka 2008: strongly negative",
         (-1, -0.5), exc["end_stage_astrocyte_microglia_correlation"], "r"),
        ("6", "TARDBP permeability / healthy", "Matsuo 2024: higher", (1.2, inf),
         tardbp["tardbp_endothelium"]["permeability_gray_rel"] / tardbp["wild_type_rat"]["permeability_gray_rel"], "×"),
        ("6", "TARDBP adhesion (VCAM-1) / healthy", "Matsuo 2024: higher", (1.2, inf),
         tardbp["tardbp_endothelium"]["adhesion_gray"] / tardbp["wild_type_rat"]["adhesion_gray"], "×"),
        ("6", "TARDBP + TNF-α/IFN-γ adhesion / TARDBP", "Matsuo 2024: further up", (1.0001, inf),
         tardbp["tardbp_cytokines"]["adhesion_gray"] / tardbp["tardbp_endothelium"]["adhesion_gray"], "×"),
        ("6", "TARDBP + CHIR99021 permeability excess / TARDBP's", "Matsuo 2024: back toward healthy", (0, 0.5),
         (tardbp["tardbp_chir"]["permeability_gray_rel"] - 1) / (tardbp["tardbp_endothelium"]["permeability_gray_rel"] - 1), "×"),
        ("6", "TARDBP + CHIR99021 adhesion excess / TARDBP's", "Matsuo 2024: VCAM-1 lowered", (0, 0.5),
         (tardbp["tardbp_chir"]["adhesion_gray"] - 1) / (tardbp["tardbp_endothelium"]["adhesion_gray"] - 1), "×"),
        ("7", "lumbar MN loss at end stage, SOD1G93A rat", "Boillée 2006 (≈55%); rat of the same order: 40–70%",
         (40, 70), 100 * loss_at_end_stage(runs["rat_sod1g93a"]), "%"),
        ("7", "lumbar MN loss at end stage, LoxSOD1G37R mouse", "Boillée 2006: ≈55%; 40–70%", (40, 70),
         100 * loss_at_end_stage(runs["mouse_loxsod1g37r"]), "%"),
        ("8", "basal neurturin, wild-type gray matter (day 20)", "Widenfalk 1997: expressed in the adult cord; below EC50 (30 pM)",
         (0.5, 30), readout_at(runs["wild_type_rat"], 20)["nrtn_gray_pM"], "pM"),
        ("9", "wild type at ~100 pM TNF-α/IFN-γ for 20 d: MN fraction", "science.md §5: ≥ 0.95", (0.95, 1.0),
         cyto["mn_fraction"], ""),
        ("9", "… with TNF-α in gray matter at the upper end of 5–100 pM", "science.md §4", (80, 150), cyto["tnf_gray_pM"], "pM"),
        ("10", "correlation mutant-free astrocytes vs activated microglia before disease (excision, day 50)",
         "science.md §5: |r| < 0.3", (-0.3, 0.3), readout_at(runs["mouse_cre_astrocytes"], 50)["astrocyte_microglia_correlation"], "r"),
    ]
    return rows


SPACE_RUNS = {
    "default grid (100 × 100 × 200 µm)": [],
    "fine grid (50 × 50 × 100 µm)": ["--set", 'geometry.voxel=["50 um", "50 um", "100 um"]'],
    "default grid, danger signal not diffusing (D_X = 0)": ["--set", 'species[DAMP].diffusivity="0 um^2/s"'],
}


def space_section(cordsim: Path, work: Path, figures: Path, relative_to: Path, reuse: bool = False):
    """Does the 3-D transport matter? The SOD1G93A rat at two voxel sizes (the outcomes should
    agree: grid independence) and with a danger signal that does not diffuse (they should not:
    space matters). Returns Markdown lines."""
    runs, jobs = {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for n, (label, extra) in enumerate(SPACE_RUNS.items()):
            out = work / f"space_{n}"
            if not extra and (work / "rat_sod1g93a" / "summary.json").exists():
                runs[label] = work / "rat_sod1g93a"  # the calibration's own default-grid run
                continue
            if reuse and (out / "summary.json").exists():
                runs[label] = out
                continue
            jobs[label] = pool.submit(run_one, cordsim, out, REPO / "scenarios" / "als" / "rat_sod1g93a.toml", extra,
                                      f"rat_sod1g93a, {label}")
        for label, job in jobs.items():
            runs[label] = job.result()
    runs = {label: runs[label] for label in SPACE_RUNS}
    s = {label: summary(out) for label, out in runs.items()}
    segments = [k[len("onset_"):-2] for k in next(iter(s.values())) if k.startswith("onset_L") and k.endswith("_d")]
    keys = [("onset_d", "onset (d)"), ("disease_duration_d", "duration (d)"), ("end_stage_d", "end stage (d)")]
    keys += [(f"onset_{seg}_d", f"onset of {seg} (d)") for seg in segments]
    lines = ["## Space: grid independence and the diffusing danger signal", "",
             "Generated by `tools/calibrate.py` from three runs of `scenarios/als/rat_sod1g93a.toml`: the default grid, "
             "a grid twice as fine in every direction (8× the voxels), and the default grid with the danger signal's "
             "diffusivity set to 0 (`--set 'species[DAMP].diffusivity=\"0 um^2/s\"'`), so that glia see only the MNs "
             "dying in their own voxel.", "",
             "| readout | " + " | ".join(runs) + " |", "|---|" + "---|" * len(runs)]
    for key, name in keys:
        lines.append(f"| {name} | " + " | ".join(f"{s[label].get(key, math.nan):.4g}" for label in runs) + " |")
    loss = {label: 100 * loss_at_end_stage(out) for label, out in runs.items()}
    lines.append("| lumbar MN loss at end stage (%) | " + " | ".join(f"{loss[label]:.3g}" for label in runs) + " |")
    spread = {label: s[label].get(f"onset_{segments[0]}_d", math.nan) - min(s[label].get(f"onset_{g}_d", math.nan)
                                                                          for g in segments) for label in runs}
    lines.append("| rostral lag: onset of " + segments[0] + " − earliest segment (d) | "
                 + " | ".join(f"{spread[label]:.3g}" for label in runs) + " |")
    default, fine, still = (s[label] for label in runs)
    grid_diff = max(abs(fine["onset_d"] / default["onset_d"] - 1),
                    abs(fine["disease_duration_d"] / default["disease_duration_d"] - 1))
    space_diff = max(abs(still["onset_d"] / default["onset_d"] - 1),
                     abs(still["disease_duration_d"] / default["disease_duration_d"] - 1))
    lines += ["", f"Largest relative change of onset or duration: {100 * grid_diff:.1f}% between the two grids, "
              f"{100 * space_diff:.1f}% when the danger signal does not diffuse.", ""]
    figure = cordsim_plots.plot_spread(runs, figures / "space_spread.png",
                                       "SOD1G93A rat: MN loss per segment, two grids and a non-diffusing signal")
    lines += [f"![space_spread]({os.path.relpath(figure, relative_to)})", ""]
    return lines


def fmt_range(lo, hi):
    if math.isinf(hi):
        return f"≥ {lo:g}" if lo != 1e-6 else "> 0"
    return f"{lo:g} – {hi:g}"


def section(runs, figures: Path, relative_to: Path, quick: bool):
    rows = targets(runs)
    lines = ["## ALS model calibration (science.md §5)", "",
             "Generated by `tools/calibrate.py` from runs of the scenarios in `scenarios/als` "
             + ("at the smoke grid (200 × 200 × 400 µm; --quick)." if quick else "at their default coarse resolution.")
             + " Targets are those of science.md §5; the experiments not listed there (excision from MNs or microglia, "
             "weekly infusions, TBK1, FUS) are predictions and are not tuned.", "",
             "| # | target | source | allowed | model | unit | verdict |", "|---|---|---|---|---|---|---|"]
    failures = 0
    for number, what, source, (lo, hi), value, unit in rows:
        ok = value is not None and not math.isnan(value) and lo <= value <= hi
        failures += not ok
        lines.append(f"| {number} | {what} | {source} | {fmt_range(lo, hi)} | {value:.4g} | {unit} | {'pass' if ok else 'FAIL'} |")
    figures.mkdir(parents=True, exist_ok=True)
    made = [
        cordsim_plots.plot_mn_and_locomotor({"untreated": runs["mouse_loxsod1g37r"], "astrocyte Cre": runs["mouse_cre_astrocytes"]},
                                            figures / "calibration_mouse_excision.png", "LoxSOD1G37R mouse"),
        cordsim_plots.plot_mn_and_locomotor({"vehicle": runs["rat_magota_vehicle"], "MSC": runs["rat_magota_msc_single"]},
                                            figures / "calibration_rat_magota.png", "SOD1G93A rat, Magota design",
                                            align_to="early_disease"),
        cordsim_plots.plot_evans_blue({"wild type": runs["wild_type_rat"], "vehicle": runs["rat_magota_vehicle"],
                                       "MSC": runs["rat_magota_msc_single"]}, figures / "calibration_evans_blue.png"),
        cordsim_plots.plot_mn_per_section({"vehicle": runs["rat_magota_vehicle"], "MSC": runs["rat_magota_msc_single"]},
                                          "day14", figures / "calibration_mn_per_section.png"),
        cordsim_plots.plot_cross_sections(runs["rat_magota_vehicle"], ["NO", "microglia_activation"], "L4",
                                          figures / "calibration_cross_sections.png"),
        cordsim_plots.plot_spread({"SOD1G93A rat": runs["rat_sod1g93a"], "LoxSOD1G37R mouse": runs["mouse_loxsod1g37r"],
                                   "mouse, astrocyte Cre": runs["mouse_cre_astrocytes"]},
                                  figures / "calibration_spread.png", "Rostro-caudal spread of MN loss"),
    ]
    lines += ["", f"{len(rows) - failures} of {len(rows)} targets inside their range.", ""]
    for path in made:
        lines += [f"![{path.stem}]({os.path.relpath(path, relative_to)})", ""]
    return lines, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(REPO / "build"))
    parser.add_argument("--work", default=None, help="folder for the runs (default: BUILD/calibration)")
    parser.add_argument("--figures", default=str(REPO / "docs" / "figures"))
    parser.add_argument("--quick", action="store_true", help="smoke grid: a check that the tool works, not a calibration")
    parser.add_argument("--reuse", action="store_true", help="reuse finished runs in the work folder")
    parser.add_argument("--space", action="store_true",
                        help="also the grid-independence and non-diffusing-signal runs (a few minutes more)")
    args = parser.parse_args()
    cordsim = Path(args.build) / "host" / "cordsim"
    runs = run_all(cordsim, Path(args.work or Path(args.build) / "calibration"), args.quick, args.reuse)
    lines, failures = section(runs, Path(args.figures), REPO / "docs", args.quick)
    if args.space:
        lines += [""] + space_section(cordsim, Path(args.work or Path(args.build) / "calibration"), Path(args.figures),
                                      REPO / "docs", args.reuse)
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
