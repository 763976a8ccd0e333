#!/usr/bin/env python3
"""Fits the ALS model's fitted parameters to the calibration targets of science.md §5.

Each animal line has its own fitted parameters (the registry rows whose role is "fitted", see
`cordsim parameters`), written as a scenario overlay that the line's scenarios include through
`[scenario] base` (scenarios/als/fitted/<line>.toml):

  mouse (LoxSOD1G37R): r_int, κ and a_ast, to the untreated end stage and disease duration and
                       to the astrocyte-excision arm (duration x2.2, onset unchanged);
  rat (SOD1G93A):      r_int and κ, to onset and disease duration; a_ast is shared with the
                       mouse (the mouse fit's value, fitted first).

The optimiser is scipy.optimize.least_squares (trust-region reflective) on the logarithms of the
parameters, bounded by the registry ranges, with finite-difference Jacobians; the residual of a
target is (model − target) / spread, the spread being what its source allows (FITS below). Every
evaluation runs the real `cordsim run` on the line's scenarios (two at a time, one thread each)
with `--set` overrides, at a coarse fit grid; the optimum is then confirmed at the default grid by
tools/calibrate.py. Writes the overlay, the fit's history (CSV: one row per evaluation) and the
residual table (Markdown) into the work folder.

    /usr/bin/python3 tools/fit.py mouse [--build build] [--work DIR] [--max-evaluations 40]
    /usr/bin/python3 tools/fit.py rat
    /usr/bin/python3 tools/fit.py --synthetic     # the recovery check (tests/tools)
"""
import argparse
import concurrent.futures
import csv
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

REPO = Path(__file__).resolve().parent.parent
DAY = 86400.0


def registry(cordsim: Path):
    """The registry rows of `cordsim parameters`: key -> dict(default, lo, hi, unit, role)."""
    text = subprocess.run([str(cordsim), "parameters"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in text.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        key = cells[0].strip("`")
        m = re.match(r"\[([^,]+), ([^\]]+)\]\s*(.*)", cells[3])
        if not m:
            raise SystemExit(f"fit: cannot read the range of {key}: {cells[3]!r}")
        rows[key] = {"default": cells[2], "lo": float(m.group(1)), "hi": float(m.group(2)), "unit": m.group(3),
                     "role": cells[6] if len(cells) > 6 else ""}
    return rows


def summary(run: Path):
    return {k: (math.nan if v is None else v) for k, v in json.loads((run / "summary.json").read_text()).items()}


def day_or(value, fallback):
    """A milestone day, or `fallback` when it was not reached (so the residual stays finite and
    points the optimiser the right way)."""
    return fallback if value is None or not math.isfinite(value) else value


# Targets: (name, source and its spread, function of the line's summaries, target, spread).
def mouse_targets(s):
    nat, exc = s["mouse_loxsod1g37r"], s["mouse_cre_astrocytes"]
    end_n = day_or(nat["end_stage_d"], 420.0)
    onset_n = day_or(nat["onset_d"], 420.0)
    end_e = day_or(exc["end_stage_d"], 540.0)
    onset_e = day_or(exc["onset_d"], 540.0)
    return [
        ("LoxSOD1G37R end stage (d)", "Boillée 2006: 8.5–11 months (255–335 d); spread 20 d", end_n, 295.0, 20.0),
        ("LoxSOD1G37R disease duration (d)", "Yamanaka 2008: ≈39 d; spread 4 d", end_n - onset_n, 39.0, 4.0),
        ("astrocyte excision: duration ratio", "Yamanaka 2008: 87/39 = 2.2; spread 0.2",
         (end_e - onset_e) / max(end_n - onset_n, 1.0), 2.2, 0.2),
        ("astrocyte excision: onset change (%)", "Yamanaka 2008: unchanged; spread 2.5%",
         100.0 * (onset_e / onset_n - 1.0), 0.0, 2.5),
    ]


def rat_targets(s):
    rat = s["rat_sod1g93a"]
    onset = day_or(rat["onset_d"], 160.0)
    end = day_or(rat["end_stage_d"], 160.0 + 30.0)
    return [
        ("SOD1G93A rat onset (d)", "Howland 2002: ≈115 d (95–125); spread 7.5 d", onset, 115.0, 7.5),
        ("SOD1G93A rat disease duration (d)", "Howland 2002: ≈11 d; spread 2 d", end - onset, 11.0, 2.0),
    ]


FITS = {
    "mouse": {
        "parameters": ["model.motor_neurons.intrinsic_stress_rate", "model.motor_neurons.death_rate",
                       "model.microglia.astrocyte_gain"],
        "scenarios": ["mouse_loxsod1g37r", "mouse_cre_astrocytes"],
        "grid": '["100 um", "100 um", "200 um"]',
        "targets": mouse_targets,
        "overlay": REPO / "scenarios" / "als" / "fitted" / "mouse.toml",
        "header": "Fitted parameters of the LoxSOD1G37R mouse line",
        "base": "../wild_type_rat.toml",
    },
    "rat": {
        "parameters": ["model.motor_neurons.intrinsic_stress_rate", "model.motor_neurons.death_rate"],
        "shared": {"model.microglia.astrocyte_gain": "mouse"},
        "scenarios": ["rat_sod1g93a"],
        "grid": '["200 um", "200 um", "400 um"]',
        "targets": rat_targets,
        "overlay": REPO / "scenarios" / "als" / "fitted" / "rat.toml",
        "header": "Fitted parameters of the rat (SOD1G93A line and its wild-type littermates)",
        "base": None,
    },
}


def read_overlay(path: Path):
    """key -> value text of a fitted overlay (tables [model.<t>] with `k = v`)."""
    values, table = {}, None
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            table = line.strip("[]")
        elif "=" in line and table and table.startswith("model."):
            k, v = (x.strip() for x in line.split("=", 1))
            values[f"{table}.{k}"] = v.strip('"')
    return values


def quantity(value: float, unit: str) -> str:
    return f"{value:.6g} {unit}".strip() if unit else f"{value:.6g}"


def write_overlay(fit, values, rows, commit, cost, table_lines):
    by_table = {}
    for key, text in values.items():
        table, name = key.rsplit(".", 1)
        by_table.setdefault(table, []).append((name, text))
    out = [f"# {fit['header']}, written by tools/fit.py (do not edit by hand: rerun the fit).",
           f"# Fitted at commit {commit} on {time.strftime('%Y-%m-%d')}; weighted cost {cost:.4g}.",
           "# Residuals at the fit grid (model, target, (model - target) / spread):"]
    out += [f"#   {line}" for line in table_lines]
    out += ["[scenario]", f'name = "fitted_{fit["overlay"].stem}"']
    if fit["base"]:
        out.append(f'base = "{fit["base"]}"')
    for table in sorted(by_table):
        out += ["", f"[{table}]"]
        for name, text in by_table[table]:
            unit = rows[f"{table}.{name}"]["unit"]
            out.append(f'{name} = "{text}"' if unit else f"{name} = {text}")
    fit["overlay"].write_text("\n".join(out) + "\n")


class BudgetSpent(Exception):
    pass


class Evaluator:
    def __init__(self, cordsim, fit, work, rows, fixed, grid):
        self.cordsim, self.fit, self.work, self.rows, self.fixed, self.grid = cordsim, fit, work, rows, fixed, grid
        self.history = []
        self.start = [1.0] * len(fit["parameters"])
        self.budget = 10 ** 9

    def run(self, name, sets, tag):
        out = self.work / f"{name}_{tag}"
        command = [str(self.cordsim), "run", str(REPO / "scenarios" / "als" / f"{name}.toml"), "--out", str(out),
                   "--overwrite", "--threads", "1", "--set", f"geometry.voxel={self.grid}"]
        for key, text in sets.items():
            command += ["--set", f'{key}="{text}"' if self.rows[key]["unit"] else f"{key}={text}"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"fit: {name} failed ({' '.join(command)}):\n{done.stderr[-2000:]}")
        return summary(out)

    def values(self, x):
        """x: 1 + log(p / p0) per fitted parameter, so that one finite-difference step (relative to
        x, 1 at the start) is the same relative change of every parameter."""
        sets = dict(self.fixed)
        for key, xv, p0 in zip(self.fit["parameters"], x, self.start):
            sets[key] = quantity(p0 * math.exp(xv - 1.0), self.rows[key]["unit"])
        return sets

    def targets(self, x):
        sets = self.values(x)
        tag = f"e{len(self.history)}"
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(self.run, name, sets, tag) for name in self.fit["scenarios"]}
            summaries = {name: f.result() for name, f in futures.items()}
        rows = self.fit["targets"](summaries)
        residuals = np.array([(value - target) / spread for _, _, value, target, spread in rows])
        self.history.append((sets, rows, residuals))
        print(f"fit: evaluation {len(self.history)}: " + ", ".join(f"{k.rsplit('.', 1)[1]}={v}" for k, v in sets.items())
              + f"; cost {0.5 * float(residuals @ residuals):.4g}", file=sys.stderr)
        return rows, residuals

    def __call__(self, x):
        # least_squares does not count its finite-difference evaluations against max_nfev: the
        # budget of real runs is kept here.
        if len(self.history) >= self.budget:
            raise BudgetSpent()
        return self.targets(x)[1]


def table(rows):
    return [f"{name}: {value:.4g} vs {target:g} (spread {spread:g}): {(value - target) / spread:+.2f}"
            for name, _, value, target, spread in rows]


def fit_line(args, line):
    cordsim = Path(args.build) / "host" / "cordsim"
    rows = registry(cordsim)
    fit = FITS[line]
    for key in fit["parameters"]:
        if key not in rows:
            raise SystemExit(f"fit: {key} is not a registry parameter (cordsim parameters)")
        if rows[key]["role"] != "fitted":
            raise SystemExit(f"fit: {key} is not marked as fitted in the registry (host/config/model_spec.cpp)")
    current = read_overlay(fit["overlay"])
    fixed = {}
    for key, other in fit.get("shared", {}).items():
        fixed[key] = read_overlay(FITS[other]["overlay"])[key]
    x0, lo, hi = [], [], []
    for key in fit["parameters"]:
        text = current.get(key, rows[key]["default"])
        value = float(text.split()[0])
        x0.append(value)
        lo.append(1.0 + math.log(max(rows[key]["lo"], value * 1e-3) / value))
        hi.append(1.0 + math.log(min(rows[key]["hi"], value * 1e3) / value))
    work = Path(args.work or Path(args.build) / "fit") / line
    work.mkdir(parents=True, exist_ok=True)
    evaluate = Evaluator(cordsim, fit, work, rows, fixed, args.grid or fit["grid"])
    evaluate.start = x0
    evaluate.budget = args.max_evaluations
    try:
        result = least_squares(evaluate, np.ones(len(x0)), bounds=(np.array(lo), np.array(hi)),
                               diff_step=args.diff_step, method="trf", x_scale=1.0, xtol=1e-3, ftol=1e-3)
        message = result.message
    except BudgetSpent:
        message = f"stopped after {args.max_evaluations} runs"
    best = min(range(len(evaluate.history)), key=lambda i: float(evaluate.history[i][2] @ evaluate.history[i][2]))
    sets, target_rows, residuals = evaluate.history[best]
    cost = 0.5 * float(residuals @ residuals)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    values = {k: v for k, v in sets.items()}
    write_overlay(fit, {k: values[k] for k in list(fit["parameters"]) + list(fixed)}, rows, commit, cost,
                  table(target_rows))
    with open(work / "history.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["evaluation"] + [k for k in sets] + [r[0] for r in target_rows] + ["cost"])
        for i, (s, r, res) in enumerate(evaluate.history):
            w.writerow([i + 1] + [s[k] for k in sets] + [f"{x[2]:.6g}" for x in r] + [f"{0.5 * float(res @ res):.6g}"])
    lines = ["| target | source (spread) | model | target | residual (model − target)/spread |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {src} | {v:.4g} | {t:g} | {(v - t) / sp:+.2f} |" for n, src, v, t, sp in target_rows]
    (work / "residuals.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"fit: {line}: {len(evaluate.history)} evaluations, best cost {cost:.4g} ({result.message}); wrote "
          f"{fit['overlay'].relative_to(REPO)}, {work / 'history.csv'}", file=sys.stderr)
    return cost


def synthetic(args):
    """Recovers known parameters: targets made by the model itself at known values of r_int and
    k_M (rat smoke grid); the fit starts 40% off and must land within 5%."""
    cordsim = Path(args.build) / "host" / "cordsim"
    rows = registry(cordsim)
    keys = ["model.motor_neurons.intrinsic_stress_rate", "model.motor_neurons.death_rate"]
    true = {keys[0]: 0.004, keys[1]: 0.4}
    work = Path(args.work or Path(args.build) / "fit") / "synthetic"
    work.mkdir(parents=True, exist_ok=True)
    grid = '["200 um", "200 um", "400 um"]'
    # The recovered readouts: onset and the duration of the rat line at the true values.
    fit = {"parameters": keys, "scenarios": ["rat_sod1g93a"], "targets": None}
    truth = Evaluator(cordsim, fit, work, rows, {}, grid)
    s_true = truth.run("rat_sod1g93a", {k: quantity(v, rows[k]["unit"]) for k, v in true.items()}, "true")
    t_onset, t_duration = s_true["onset_d"], s_true["disease_duration_d"]

    def targets(s):
        r = s["rat_sod1g93a"]
        onset = day_or(r["onset_d"], 160.0)
        end = day_or(r["end_stage_d"], 190.0)
        return [("onset", "synthetic", onset, t_onset, 1.0), ("duration", "synthetic", end - onset, t_duration, 0.25)]

    fit["targets"] = targets
    evaluate = Evaluator(cordsim, fit, work, rows, {}, grid)
    evaluate.start = [true[keys[0]] * 1.4, true[keys[1]] * 0.6]
    evaluate.budget = args.max_evaluations
    try:
        least_squares(evaluate, np.ones(2), bounds=(1 + np.log([0.1, 0.1]), 1 + np.log([10.0, 10.0])),
                      diff_step=args.diff_step, method="trf", xtol=1e-4, ftol=1e-6)
    except BudgetSpent:
        pass
    best = min(evaluate.history, key=lambda h: float(h[2] @ h[2]))
    found = {k: float(best[0][k].split()[0]) for k in keys}
    errors = {k: found[k] / true[k] - 1.0 for k in keys}
    for k in keys:
        print(f"synthetic: {k}: true {true[k]:g}, fitted {found[k]:.5g} ({100 * errors[k]:+.2f}%)")
    print(f"synthetic: targets onset {t_onset:g} d, duration {t_duration:g} d; {len(evaluate.history)} evaluations")
    return 0 if all(abs(e) <= 0.05 for e in errors.values()) else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("line", nargs="?", choices=sorted(FITS), help="the animal line to fit")
    parser.add_argument("--build", default=str(REPO / "build"))
    parser.add_argument("--work", default=None, help="folder for the runs (default: BUILD/fit)")
    parser.add_argument("--grid", default=None, help="voxel size of the fit runs (default: the line's fit grid)")
    parser.add_argument("--max-evaluations", type=int, default=40)
    parser.add_argument("--diff-step", type=float, default=0.1,
                        help="finite-difference step of log(p / p0): 0.1 is a 10%% change")
    parser.add_argument("--synthetic", action="store_true", help="recover known parameters (a self-test)")
    args = parser.parse_args()
    if args.synthetic:
        return synthetic(args)
    if not args.line:
        parser.error("give a line (mouse, rat) or --synthetic")
    fit_line(args, args.line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
