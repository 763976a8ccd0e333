#!/bin/bash
# Submits a whole sweep: the job array (one task per row, array.sbatch) and the collection that
# runs after it (collect.sbatch).
#
#   tools/slurm/submit_sweep.sh SWEEP.toml [--out DIR] [--backend cuda] [-- sbatch options]
#
# e.g. tools/slurm/submit_sweep.sh scenarios/sweeps/demo_cohort.toml --out /scratch/$USER/runs -- --partition=short
#
# Options after `--` go to both sbatch calls, the array's and the collection's (--partition,
# --account, --qos, --time, --signal, --mail-type, ...). Resources of the rows alone, from the
# environment (array.sbatch's #SBATCH lines are the defaults; options after `--` override these):
#   CORDSIM_ROW_CPUS   --cpus-per-task of each row (default 2)
#   CORDSIM_ROW_MEM    --mem of each row (default 4G)
#   CORDSIM_ROW_TIME   --time of each row (default 02:00:00)
#   CORDSIM_ROW_GRES   --gres of each row, e.g. gpu:1 (with --backend cuda)
# Set CORDSIM to the cordsim binary if it is not on PATH; the jobs inherit it. Works with bash 4.2.
set -euo pipefail

if [ "$#" -lt 1 ]; then
  echo "usage: $0 SWEEP.toml [cordsim sweep options] [-- sbatch options]" >&2
  exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
sweep_file=$1
shift
cordsim_args=()
sbatch_args=()
while [ "$#" -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    sbatch_args=("$@")
    break
  fi
  cordsim_args+=("$1")
  shift
done
row_args=()
[ -n "${CORDSIM_ROW_CPUS:-}" ] && row_args+=("--cpus-per-task=$CORDSIM_ROW_CPUS")
[ -n "${CORDSIM_ROW_MEM:-}" ] && row_args+=("--mem=$CORDSIM_ROW_MEM")
[ -n "${CORDSIM_ROW_TIME:-}" ] && row_args+=("--time=$CORDSIM_ROW_TIME")
[ -n "${CORDSIM_ROW_GRES:-}" ] && row_args+=("--gres=$CORDSIM_ROW_GRES")
CORDSIM=${CORDSIM:-cordsim}
export CORDSIM

# The first line of --list reads "sweep 'NAME' (FILE): FORM of N rows over SCENARIO"; listing also
# checks every row against the base scenario, so a bad sweep fails here, before anything queues.
listing=$("$CORDSIM" sweep "$sweep_file" --list)
rows=$(printf '%s\n' "$listing" | head -n 1 | sed -n 's/.* of \([0-9][0-9]*\) rows\{0,1\} over .*/\1/p')
if [ -z "$rows" ]; then
  echo "$0: cannot read the number of rows from: $(printf '%s\n' "$listing" | head -n 1)" >&2
  exit 1
fi
# sbatch takes the last of a repeated option: the row resources, then the user's options.
array=$(sbatch --parsable --array=0-$((rows - 1)) ${row_args[@]+"${row_args[@]}"} ${sbatch_args[@]+"${sbatch_args[@]}"} \
  "$here/array.sbatch" "$sweep_file" ${cordsim_args[@]+"${cordsim_args[@]}"})
array=${array%%;*}
collect=$(sbatch --parsable --dependency=afterany:"$array" ${sbatch_args[@]+"${sbatch_args[@]}"} \
  "$here/collect.sbatch" "$sweep_file" ${cordsim_args[@]+"${cordsim_args[@]}"})
echo "submitted ${rows} rows as array job ${array}; collection job ${collect%%;*} runs after it"
