#!/usr/bin/env bash
# The figure set of one run or of a group of runs (the arms of an experiment):
#   tools/figures.sh RUN_DIR [RUN_DIR ...] [--field NO] [--cohort COHORT.csv] [--out DIR]
# - matplotlib: tissue totals over time across the runs (and Kaplan–Meier survival with --cohort);
# - ParaView (pvbatch under xvfb-run): anatomy, the field in 3-D and axial slices for each run,
#   plus a state file RUN_DIR/cordsim.pvsm for interactive use.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=() field=() cohort=() out=""
while (($#)); do
  case "$1" in
    --field) field=(--field "$2"); shift 2 ;;
    --cohort) cohort=(--cohort "$2"); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) runs+=("$1"); shift ;;
  esac
done
((${#runs[@]})) || { echo "usage: tools/figures.sh RUN_DIR [RUN_DIR ...] [--field F] [--cohort C.csv] [--out DIR]" >&2; exit 2; }
plots_out=()
[[ -n "$out" ]] && plots_out=(--out "$out")
/usr/bin/python3 "$repo/tools/plotting/cordsim_plots.py" "${runs[@]}" "${cohort[@]}" "${plots_out[@]}"
for run in "${runs[@]}"; do
  pv_out=()
  [[ -n "$out" ]] && pv_out=(--out "$out/$(basename "$run")")
  "$repo/tools/paraview/pvbatch_xvfb.sh" "$repo/tools/paraview/show_run.py" "$run" "${field[@]}" \
    "${pv_out[@]}" --state
done
