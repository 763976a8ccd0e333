#!/usr/bin/env python3
"""MPI decomposition test (label mpi): runs one scenario serially (no launcher) and under
`mpirun -np N` for each N given, and compares every rank count's output with the serial one:

  --exact       fields (every frame of /fields, the output times) bitwise equal,
                mass_budget.csv byte for byte and summary.json's totals and peaks equal
                (explicit integrators: same operator, same per-voxel arithmetic, totals summed
                in the serial row order);
  --rtol R      fields within R of the serial field's largest value per frame, totals within R
                (implicit integrators: CG's dot products add in another order, so iterates agree
                to the solver tolerance).

Checkpoint/restart across rank counts (docs/parallel.md): with --stop-at T or --signal-after TEXT
the run is first stopped on --stop-ranks M ranks (default 4), and each N then resumes a copy of
that stopped run; the resumed outputs are compared with the uninterrupted serial run as above.

  --stop-at T          the M-rank run stops itself at simulated time T (cordsim run --stop-at);
  --signal-after TEXT  once TEXT appears in the M-rank run's output, SIGUSR1 is sent to one rank
                       (rank 1, not rank 0), which must make every rank checkpoint at the same step
                       and exit 4 together.

--iterations-within N: the CG iterations of every species in each output interval (solver_log.csv)
must be those of the serial run within N per solve (the multigrid V-cycle on slabs is the serial
one, so only the rounding of the dot products may move a stopping decision).

--set KEY=VALUE (repeatable) is passed to every run, the serial one included; --env NAME=VALUE
(repeatable) is set for the mpirun runs.

The ALS model (--model): also readouts.csv, evans_blue.csv, events.csv and summary.json. With
--exact they must be byte for byte (summary.json: every value but wall_time_s and mpi_ranks)
the serial files; with --rtol every number within R of the serial one (relative, readouts
relative to the largest magnitude of their column), every text cell and events.csv exact (the
milestones and events at the same times). --one-rank-exact: the run on 1 rank is compared as with
--exact even with --rtol (it must be the serial run, bit for bit).

Output (cordsim.h5 written collectively with parallel HDF5, or gathered to rank 0):
  --output-path collective|gathered   the path every run on more than one rank must report;
  --also-gathered       with collective output, each N > 1 runs a second time with
                        CORDSIM_MPI_COLLECTIVE_OUTPUT=0 (the gathered write), compared the same way;
  --h5diff PATH         with --exact: h5diff of /fields, /grid and /times against the serial file
                        must find no difference (datasets and their attributes), and the file's
                        own attributes must be equal but for `backend` ("4 x cpu ...").

Usage: mpi_run_check.py CORDSIM MPIEXEC SCENARIO WORKDIR (--exact | --rtol R) [--model] [--one-rank-exact]
                        [--set K=V ...]
                        [--env K=V ...] [--stop-at T | --signal-after TEXT] [--stop-ranks M]
                        [--output-path collective|gathered] [--also-gathered] [--h5diff PATH]
                        [--iterations-within N] NP [NP ...]
"""
import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys

import h5py
import numpy as np

TIMEOUT_S = 300  # a rank waiting for the others forever must fail the test, not hang it


def run(cmd, env, expect=0):
    print("+", " ".join(cmd), flush=True)
    try:
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        print(e.stdout)
        sys.exit(f"FAIL: no exit within {TIMEOUT_S} s")
    if done.returncode != expect:
        print(done.stdout)
        sys.exit(f"FAIL: exit code {done.returncode} (expected {expect})")
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


def solver_log(path):
    """{column: [values per row]} of solver_log.csv."""
    with open(path) as f:
        rows = list(csv.reader(f))
    return {name: [float(r[i]) for r in rows[1:]] for i, name in enumerate(rows[0])}


def compare_iterations(what, out, work, within):
    """CG iterations per species and output interval against the serial run; returns mismatches."""
    ref, got = solver_log(f"{work}/serial/solver_log.csv"), solver_log(f"{out}/solver_log.csv")
    if sorted(ref) != sorted(got) or len(ref["time_s"]) != len(got["time_s"]):
        sys.exit(f"FAIL: {what}: solver_log.csv has another layout")
    failures = 0
    for column in (c for c in ref if c.endswith("_cg_iterations")):
        species = column[: -len("_cg_iterations")]
        solves = ref[f"{species}_solves"]
        pairs = list(zip(ref[column], got[column]))
        print(f"{what}: {species} CG iterations per output interval: serial {[int(x) for x, _ in pairs]}, "
              f"here {[int(y) for _, y in pairs]}")
        for (x, y), n in zip(pairs, solves):
            if abs(x - y) > within * n:
                print(f"FAIL: {what}: {species}: {int(y)} CG iterations for {int(n)} solves, serial {int(x)} "
                      f"(bound ±{within} per solve)")
                failures += 1
    return failures


def descendants(root):
    """Pids of the processes below `root` (mpirun's ranks, however it started them)."""
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
        parent[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    found = []
    for pid in parent:
        p = pid
        while p in parent and p > 1:
            p = parent[p]
            if p == root:
                found.append(pid)
                break
    return found


def rank_pid(mpirun_pid, rank):
    for pid in descendants(mpirun_pid):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env or f"PMIX_RANK={rank}".encode() in env:
            return pid
    return None


def run_and_signal(cmd, env, text, rank):
    """Runs cmd; once `text` is in its output, sends SIGUSR1 to MPI rank `rank`. Returns (exit code, output)."""
    print("+", " ".join(cmd), f"# SIGUSR1 to rank {rank} after '{text}'", flush=True)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    sent = False
    for line in proc.stdout:
        output.append(line)
        if not sent and text in line:
            pid = rank_pid(proc.pid, rank)
            if pid is None:
                proc.kill()
                sys.exit(f"FAIL: rank {rank} of mpirun (pid {proc.pid}) not found")
            os.kill(pid, signal.SIGUSR1)
            sent = True
    code = proc.wait(timeout=TIMEOUT_S)
    log = "".join(output)
    if not sent:
        print(log)
        sys.exit(f"FAIL: '{text}' never appeared (the run ended before the signal could be sent)")
    return code, log


def compare(what, out, work, reference, ref_header, ref_budget, rtol, h5diff):
    """Compares the output in `out` with the serial one; returns the number of mismatches."""
    failures = 0
    got = frames(f"{out}/cordsim.h5")
    if sorted(got) != sorted(reference):
        sys.exit(f"FAIL: {what}: datasets {sorted(got)} != serial {sorted(reference)}")
    worst = 0.0
    for key, ref in reference.items():
        if rtol is None:
            same = ref.dtype == got[key].dtype and ref.tobytes() == got[key].tobytes()
            if not same:
                print(f"FAIL: {what}: {key} differs from the serial run "
                      f"(max |diff| {np.abs(ref.astype(float) - got[key]).max():.3e})")
                failures += 1
        else:
            scale = max(float(np.abs(ref).max()), 1e-30)
            diff = float(np.abs(ref.astype(np.float64) - got[key]).max()) / scale
            worst = max(worst, diff)
            if diff > rtol:
                print(f"FAIL: {what}: {key} differs by {diff:.3e} of its peak (> {rtol})")
                failures += 1
    header, values = budget(f"{out}/mass_budget.csv")
    if rtol is None:
        with open(f"{work}/serial/mass_budget.csv", "rb") as x, open(f"{out}/mass_budget.csv", "rb") as y:
            if x.read() != y.read():
                print(f"FAIL: {what}: mass_budget.csv differs from the serial run")
                failures += 1
        with open(f"{work}/serial/summary.json") as x, open(f"{out}/summary.json") as y:
            mine, theirs = json.load(x), json.load(y)
        for key in (k for k in mine if k.startswith(("max_", "total_"))):
            if mine[key] != theirs.get(key):
                print(f"FAIL: {what}: summary.json {key} = {theirs.get(key)}, serial {mine[key]}")
                failures += 1
        if h5diff:
            for group in ("/fields", "/grid", "/times"):
                done = subprocess.run([h5diff, f"{work}/serial/cordsim.h5", f"{out}/cordsim.h5", group, group],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                if done.returncode != 0:
                    print(done.stdout[-2000:])
                    print(f"FAIL: {what}: h5diff finds {group} different from the serial file")
                    failures += 1
            with h5py.File(f"{work}/serial/cordsim.h5", "r") as x, h5py.File(f"{out}/cordsim.h5", "r") as y:
                mine = {k: v for k, v in x.attrs.items() if k != "backend"}
                theirs = {k: v for k, v in y.attrs.items() if k != "backend"}
                if sorted(mine) != sorted(theirs) or any(np.any(mine[k] != theirs[k]) for k in mine):
                    print(f"FAIL: {what}: the file attributes differ from the serial file's")
                    failures += 1
        print(f"{what}: {len(reference)} datasets, mass_budget.csv and the summary's totals and peaks bitwise "
              "equal to the serial run"
              + (" (h5diff: /fields, /grid, /times identical)" if h5diff else ""))
    else:
        if header != ref_header or values.shape != ref_budget.shape:
            sys.exit(f"FAIL: {what}: mass_budget.csv has another layout")
        budget_diff = float(np.max(np.abs(values - ref_budget) / np.maximum(np.abs(ref_budget), 1e-30)))
        if budget_diff > rtol:
            print(f"FAIL: {what}: totals differ by {budget_diff:.3e} (relative, > {rtol})")
            failures += 1
        print(f"{what}: fields within {worst:.3e} of the peak, totals within {budget_diff:.3e} (bound {rtol})")
    return failures


def table(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def compare_model(what, out, work, rtol):
    """The ALS model's tables and summary against the serial run's; returns the number of mismatches."""
    failures = 0
    worst = {}
    for name in ("readouts.csv", "evans_blue.csv", "events.csv"):
        mine, theirs = f"{work}/serial/{name}", f"{out}/{name}"
        if not os.path.exists(mine):
            continue
        with open(mine, "rb") as x, open(theirs, "rb") as y:
            same = x.read() == y.read()
        if rtol is None or name == "events.csv":
            if not same:
                print(f"FAIL: {what}: {name} differs from the serial run")
                failures += 1
            continue
        header, ref_rows = table(mine)
        got_header, got_rows = table(theirs)
        if got_header != header or len(got_rows) != len(ref_rows):
            print(f"FAIL: {what}: {name} has another layout than the serial run's")
            failures += 1
            continue
        for c, column in enumerate(header):
            ref = [number(r[c]) for r in ref_rows]
            got = [number(r[c]) for r in got_rows]
            if any((a is None) != (b is None) for a, b in zip(ref, got)) or any(
                    a is None and r[c] != g[c] for a, r, g in zip(ref, ref_rows, got_rows)):
                print(f"FAIL: {what}: {name} column {column}: text cells differ")
                failures += 1
                continue
            pairs = [(a, b) for a, b in zip(ref, got) if a is not None]
            if any(np.isnan(a) != np.isnan(b) for a, b in pairs):
                print(f"FAIL: {what}: {name} column {column}: NaN where the serial run has none, or the reverse")
                failures += 1
                continue
            pairs = [(a, b) for a, b in pairs if not np.isnan(a)]
            scale = max([abs(a) for a, _ in pairs] + [1e-300])
            diff = max([abs(a - b) / scale for a, b in pairs] + [0.0])
            worst[name] = max(worst.get(name, 0.0), diff)
            if diff > rtol:
                print(f"FAIL: {what}: {name} column {column} differs by {diff:.3e} of its largest value (> {rtol})")
                failures += 1
    with open(f"{work}/serial/summary.json") as x, open(f"{out}/summary.json") as y:
        mine, theirs = json.load(x), json.load(y)
    skip = ("wall_time_s", "mpi_ranks")
    if sorted(k for k in mine if k not in skip) != sorted(k for k in theirs if k not in skip):
        print(f"FAIL: {what}: summary.json has other keys than the serial run's")
        return failures + 1
    summary_diff = 0.0
    for key in (k for k in mine if k not in skip):
        a, b = mine[key], theirs[key]
        if rtol is None or not isinstance(a, float) or not isinstance(b, float):
            if a != b:
                print(f"FAIL: {what}: summary.json {key} = {b}, serial {a}")
                failures += 1
            continue
        diff = abs(a - b) / max(abs(a), 1e-300)
        summary_diff = max(summary_diff, diff)
        if diff > rtol:
            print(f"FAIL: {what}: summary.json {key} = {b}, serial {a} (relative difference {diff:.3e} > {rtol})")
            failures += 1
    if rtol is None:
        print(f"{what}: readouts.csv, evans_blue.csv, events.csv and summary.json equal to the serial run's")
    else:
        print(f"{what}: " + ", ".join(f"{k} within {v:.3e}" for k, v in worst.items()) +
              f" (of each column's largest value); events.csv identical; summary.json within {summary_diff:.3e}"
              f" (bound {rtol})")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exe")
    parser.add_argument("mpiexec")
    parser.add_argument("scenario")
    parser.add_argument("work")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--exact", action="store_true")
    mode.add_argument("--rtol", type=float)
    parser.add_argument("--model", action="store_true")
    parser.add_argument("--one-rank-exact", action="store_true")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--stop-at")
    stop.add_argument("--signal-after")
    parser.add_argument("--stop-ranks", type=int, default=4)
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--output-path", choices=["collective", "gathered"])
    parser.add_argument("--also-gathered", action="store_true")
    parser.add_argument("--h5diff")
    parser.add_argument("--iterations-within", type=int)
    parser.add_argument("ranks", type=int, nargs="+")
    a = parser.parse_intermixed_args()
    exe, mpiexec, work, rtol = a.exe, a.mpiexec, a.work, a.rtol
    restart = a.stop_at is not None or a.signal_after is not None

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    serial_env = dict(env)
    for kv in a.env:
        name, value = kv.split("=", 1)
        env[name] = value
    reports = {"collective": "cordsim.h5 written collectively by all ranks",
               "gathered": "gathered to rank 0, which writes it"}
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    common = ["run", a.scenario, "--backend", "cpu", "--threads", "1"]
    for kv in a.overrides:
        common += ["--set", kv]
    mpirun = [mpiexec, "--oversubscribe", "-np"]
    run([exe] + common + ["--out", f"{work}/serial"], serial_env)
    reference = frames(f"{work}/serial/cordsim.h5")
    ref_header, ref_budget = budget(f"{work}/serial/mass_budget.csv")

    stopped = f"{work}/stopped"
    if restart:
        m = a.stop_ranks
        cmd = mpirun + [str(m), exe] + common + ["--out", stopped]
        if a.stop_at is not None:
            log = run(cmd + ["--stop-at", a.stop_at], env, expect=4)
            why = "(--stop-at)"
        else:
            code, log = run_and_signal(cmd, env, a.signal_after, 1)
            if code != 4:
                print(log)
                sys.exit(f"FAIL: exit code {code} after SIGUSR1 to rank 1 (expected 4 from every rank)")
            why = "(SIGUSR1)"
            if "SIGUSR1: finishing the current step" not in log:
                print(log)
                sys.exit("FAIL: rank 1 did not report the signal")
        if a.output_path and reports[a.output_path] not in log:
            print(log)
            sys.exit(f"FAIL: the {m}-rank run did not report the {a.output_path} output")
        if f"{why}; checkpoint" not in log or log.count("Stopped at t = ") != 1:
            print(log)
            sys.exit(f"FAIL: rank 0 did not report the stop {why} once")
        checkpoints = sorted(os.listdir(f"{stopped}.partial/checkpoints"))
        with h5py.File(f"{stopped}.partial/checkpoints/{checkpoints[-1]}", "r") as f:
            written_on, t = int(f.attrs["mpi_ranks"]), float(f.attrs["time_s"])
        if written_on != m:
            sys.exit(f"FAIL: the checkpoint says mpi_ranks = {written_on}, the run had {m}")
        print(f"stopped on {m} ranks {why}: checkpoint {checkpoints[-1]} at t = {t:g} s")

    failures = 0
    runs = []  # (ranks, output directory, environment, expected output path)
    for n in a.ranks:
        runs.append((n, f"{work}/np{n}", env, a.output_path))
        if a.also_gathered and n > 1 and a.output_path == "collective":
            runs.append((n, f"{work}/np{n}_gathered", dict(env, CORDSIM_MPI_COLLECTIVE_OUTPUT="0"), "gathered"))
    for n, out, run_env, path in runs:
        if restart:
            shutil.copytree(f"{stopped}.partial", f"{out}.partial")
            log = run(mpirun + [str(n), exe] + common + ["--resume", out], run_env)
            if f"on {a.stop_ranks} ranks)" not in log:
                print(log)
                sys.exit(f"FAIL: np {n}: the resumed run did not say it resumed a {a.stop_ranks}-rank checkpoint")
        else:
            log = run(mpirun + [str(n), exe] + common + ["--out", out], run_env)
        if n > 1 and f"{n} ranks" not in log:
            print(log)
            sys.exit(f"FAIL: the {n}-rank run did not report a decomposition into {n} slabs")
        if n > 1 and path and reports[path] not in log:
            print(log)
            sys.exit(f"FAIL: the {n}-rank run did not report the {path} output ('{reports[path]}')")
        what = f"np {n}" + (f" ({path} output)" if n > 1 and path else "") + \
            (f" (resumed from {a.stop_ranks} ranks)" if restart else "")
        tolerance = None if n == 1 and a.one_rank_exact else rtol
        failures += compare(what, out, work, reference, ref_header, ref_budget, tolerance,
                            a.h5diff if tolerance is None else None)
        if a.model:
            failures += compare_model(what, out, work, tolerance)
        if a.iterations_within is not None:
            failures += compare_iterations(what, out, work, a.iterations_within)
    if failures:
        sys.exit(f"FAIL: {failures} mismatches")
    print("PASS")


if __name__ == "__main__":
    main()
