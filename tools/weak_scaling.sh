#!/usr/bin/env bash
# Weak-scaling benchmark of the MPI slab decomposition (docs/parallel.md): the grid grows along z
# with the rank count, so every rank keeps the same slab (PLANES z-planes of NX x NY voxels, an
# elliptic-cylinder cord filling ~71% of each plane), and the time per step should stay flat.
# Prints one table row per rank count: wall time of the stepping loop, voxel updates per second,
# efficiency t(first) / t(N), the halo traffic the run reports and, for quasi_steady, the CG
# iterations of all solves (solver_log.csv), which should not grow with the rank count.
#
#   tools/weak_scaling.sh [RANKS ...]          default: 1 2 4
#
# Environment:
#   CORDSIM        cordsim binary of a build with CORDSIM_WITH_MPI=ON (default: build-mpi/host/cordsim)
#   MPIEXEC        launcher and its options (default: "mpirun --oversubscribe"; on SLURM e.g. "srun")
#   NX NY PLANES   slab per rank (default 96 80 32)
#   DURATION       simulated time (default "10 s": ~2000 forward-Euler steps of NO)
#   INTEGRATOR     forward_euler (default) or quasi_steady (multigrid CG; one solve per output)
#   THREADS        OpenMP threads per rank (default 1)
#   BACKEND        cpu (default), cuda or auto
#   WORK           scratch directory (default: a temporary directory, removed at the end)
# Example on a cluster, 1–64 GPUs:  MPIEXEC="srun --gpus-per-task=1" BACKEND=cuda NX=512 NY=384 PLANES=256 \
#                                   tools/weak_scaling.sh 1 2 4 8 16 32 64
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cordsim="${CORDSIM:-$repo/build-mpi/host/cordsim}"
mpiexec="${MPIEXEC:-mpirun --oversubscribe}"
nx="${NX:-96}" ny="${NY:-80}" planes="${PLANES:-32}"
duration="${DURATION:-10 s}" integrator="${INTEGRATOR:-forward_euler}"
threads="${THREADS:-1}" backend="${BACKEND:-cpu}"
ranks=("$@")
((${#ranks[@]})) || ranks=(1 2 4)
[[ -x "$cordsim" ]] || { echo "weak_scaling: no cordsim at $cordsim (build with -DCORDSIM_WITH_MPI=ON)" >&2; exit 2; }
if [[ -z "${WORK:-}" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
else
  work="$WORK"
  mkdir -p "$work"
fi
[[ $(id -u) -eq 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS="$threads"

h=20  # um, all axes
printf "%-6s %-14s %-12s %-10s %-14s %-10s %-12s %-10s %s\n" ranks grid tissue_vox wall_s "updates/s" efficiency "halo_msgs" \
  "halo_MiB" "cg_iterations"
first=""
for n in "${ranks[@]}"; do
  nz=$((planes * n))
  scenario="$work/weak_$n.toml"
  cat > "$scenario" <<TOML
[scenario]
name = "weak_$n"
[grid]
shape = [$nx, $ny, $nz]
spacing = "$h um"
[tissue]
shape = "elliptic_cylinder"
center = ["$((nx * h / 2)) um", "$((ny * h / 2)) um"]
semi_axes = ["$((nx * h / 2 - h)) um", "$((ny * h / 2 - h)) um"]
[[species]]
name = "NO"
diffusivity = "3300 um^2/s"
decay = "0.7 1/s"
boundary = { type = "dirichlet", value = "0 nM" }
integrator = "$integrator"
[[source]]
species = "NO"
shape = "box"
min = ["$((nx * h / 4)) um", "$((ny * h / 4)) um", "0 um"]
max = ["$((3 * nx * h / 4)) um", "$((3 * ny * h / 4)) um", "$((nz * h)) um"]
rate = "10 nM/s"
[run]
duration = "$duration"
output_interval = "$duration"
[output]
vtk = false
TOML
  log="$work/weak_$n.log"
  # shellcheck disable=SC2086
  $mpiexec -np "$n" "$cordsim" run "$scenario" --out "$work/out_$n" --overwrite --backend "$backend" \
    --threads "$threads" > "$log" 2>&1 || { cat "$log"; exit 1; }
  # summary.json's wall time: the whole run (setup, stepping, gathering and writing two frames)
  wall=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["wall_time_s"])' "$work/out_$n/summary.json")
  sweeps=$(grep -oE "[0-9]+ stencil sweeps" "$log" | tail -1 | grep -oE "^[0-9]+")
  tissue=$(grep -oE "; [0-9]+ tissue voxels \(" "$log" | head -1 | grep -oE "[0-9]+")
  msgs=$(grep -oE "halo exchange: [0-9]+ messages" "$log" | grep -oE "[0-9]+" || echo 0)
  mib=$(grep -oE "messages, [0-9.]+ MiB" "$log" | grep -oE "[0-9.]+" || echo 0)
  [[ -n "$first" ]] || first="$wall"
  python3 - "$n" "$nx" "$ny" "$nz" "$tissue" "$wall" "$sweeps" "$first" "$msgs" "$mib" "$work/out_$n" <<'PY'
import csv, os, sys
n, nx, ny, nz, tissue, wall, sweeps, first, msgs, mib, out = sys.argv[1:]
iterations = "-"
log = os.path.join(out, "solver_log.csv")
if os.path.exists(log):  # implicit species: CG iterations of every solve, summed over the rows
    with open(log) as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in (rows[0].keys() if rows else []) if c.endswith("_cg_iterations")]
    iterations = str(sum(int(float(r[c] or 0)) for r in rows for c in columns))
wall, first = float(wall), float(first)
# a stencil sweep updates every voxel of the grid (the solver's sweeps count CG iterations)
updates = int(nx) * int(ny) * int(nz) * int(sweeps) / max(wall, 1e-9)
print(f"{n:<6} {nx}x{ny}x{nz:<8} {tissue:<12} {wall:<10.2f} {updates:<14.3e} {first / max(wall, 1e-9):<10.2f} {msgs:<12} "
      f"{mib:<10} {iterations}")
PY
done
