#!/usr/bin/env python3
"""MPI decomposition test (label mpi): runs one scenario serially (no launcher) and under
`mpirun -np N` for each N given, and compares every rank count's output with the serial one:

  --exact       fields (every frame of /fields, the output times) bitwise equal, and
                mass_budget.csv byte for byte (explicit integrators: same operator, same
                per-voxel arithmetic, totals summed in the serial row order);
  --rtol R      fields within R of the serial field's largest value per frame, totals within R
                (implicit integrators: CG's dot products add in another order, and multigrid
                becomes block-Jacobi over the slabs, so iterates agree to the solver tolerance).

Usage: mpi_run_check.py CORDSIM MPIEXEC SCENARIO WORKDIR (--exact | --rtol R) NP [NP ...]
"""
import csv
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np


def run(cmd, env):
    print("+", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        print(done.stdout)
        sys.exit(f"FAIL: exit code {done.returncode}")
    return done.stdout


def frames(path):
    with h5py.File(path, "r") as f:
        out = {"times": f["times"][()]}
        for species in f["fields"]:
            for frame in f["fields"][species]:
                out[f"{species}/{frame}"] = f["fields"][species][frame][()]
    return out


def budget(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], np.array([[float(v) for v in r] for r in rows[1:]])


def main():
    exe, mpiexec, scenario, work, mode = sys.argv[1:6]
    args = sys.argv[6:]
    rtol = None
    if mode == "--rtol":
        rtol = float(args[0])
        args = args[1:]
    elif mode != "--exact":
        sys.exit("mode must be --exact or --rtol R")
    ranks = [int(a) for a in args]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    common = ["run", scenario, "--backend", "cpu", "--threads", "1"]
    run([exe] + common + ["--out", f"{work}/serial"], env)
    reference = frames(f"{work}/serial/cordsim.h5")
    ref_header, ref_budget = budget(f"{work}/serial/mass_budget.csv")
    failures = 0
    for n in ranks:
        out = f"{work}/np{n}"
        log = run([mpiexec, "--oversubscribe", "-np", str(n), exe] + common + ["--out", out], env)
        if n > 1 and f"{n} ranks" not in log:
            print(log)
            sys.exit(f"FAIL: the {n}-rank run did not report a decomposition into {n} slabs")
        got = frames(f"{out}/cordsim.h5")
        if sorted(got) != sorted(reference):
            sys.exit(f"FAIL: np {n}: datasets {sorted(got)} != serial {sorted(reference)}")
        worst = 0.0
        for key, ref in reference.items():
            if rtol is None:
                same = ref.dtype == got[key].dtype and ref.tobytes() == got[key].tobytes()
                if not same:
                    print(f"FAIL: np {n}: {key} differs from the serial run "
                          f"(max |diff| {np.abs(ref.astype(float) - got[key]).max():.3e})")
                    failures += 1
            else:
                scale = max(float(np.abs(ref).max()), 1e-30)
                diff = float(np.abs(ref.astype(np.float64) - got[key]).max()) / scale
                worst = max(worst, diff)
                if diff > rtol:
                    print(f"FAIL: np {n}: {key} differs by {diff:.3e} of its peak (> {rtol})")
                    failures += 1
        header, values = budget(f"{out}/mass_budget.csv")
        if rtol is None:
            with open(f"{work}/serial/mass_budget.csv", "rb") as a, open(f"{out}/mass_budget.csv", "rb") as b:
                if a.read() != b.read():
                    print(f"FAIL: np {n}: mass_budget.csv differs from the serial run")
                    failures += 1
            print(f"np {n}: {len(reference)} datasets and mass_budget.csv bitwise equal to the serial run")
        else:
            if header != ref_header or values.shape != ref_budget.shape:
                sys.exit(f"FAIL: np {n}: mass_budget.csv has another layout")
            budget_diff = float(np.max(np.abs(values - ref_budget) / np.maximum(np.abs(ref_budget), 1e-30)))
            if budget_diff > rtol:
                print(f"FAIL: np {n}: totals differ by {budget_diff:.3e} (relative, > {rtol})")
                failures += 1
            print(f"np {n}: fields within {worst:.3e} of the peak, totals within {budget_diff:.3e} (bound {rtol})")
    if failures:
        sys.exit(f"FAIL: {failures} mismatches")
    print("PASS")


if __name__ == "__main__":
    main()
