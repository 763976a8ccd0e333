#!/bin/bash
# A real Slurm on this machine runs a sweep row through tools/slurm/submit_sweep.sh and
# array.sbatch with a short time limit, and the row survives it:
#   - a private slurmctld and slurmd on localhost (temporary slurm.conf, own ports, state and
#     spool directories under a temporary directory; auth/none, or a private munged);
#   - submit_sweep.sh with CORDSIM_ROW_CPUS/CORDSIM_ROW_MEM (they reach the array job only) and,
#     after `--`, --time=1 --signal=B:USR1@50 --comment=... (they reach both jobs);
#   - 10-40 s into each attempt Slurm sends USR1 to the batch shell, array.sbatch passes it
#     on, cordsim writes a checkpoint and exits 4, the script requeues the task; the requeued task
#     resumes the row from the checkpoint, until the row finishes and the collection job writes
#     sweep_results.csv;
#   - the task's log (--open-mode=append) holds every attempt.
# Slurm makes a requeued job wait about two minutes before it may start again; the test starts
# it at once (scontrol update StartTime=now). The row's length is calibrated on this machine, to
# about 50 s of computing, so that the first signal always finds it running.
#
#   tests/tools/slurm_requeue_test.sh CORDSIM_BINARY
#
# Exits 77 (CTest's SKIP_RETURN_CODE), saying why, when slurm-wlm is not installed or when not
# run as root (the daemons must run as root). CORDSIM_SLURM_TEST_AUTH=munge uses a private munged
# even where auth/none exists; CORDSIM_SLURM_TEST_KEEP=1 keeps the temporary directory.
set -u

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*"
  if [ -n "${tmp:-}" ] && [ -d "$tmp/log" ]; then
    for f in "$tmp"/log/*.log "$tmp"/work/*.out; do
      [ -f "$f" ] && { echo "---- tail of $f"; tail -n 15 "$f"; }
    done
    CORDSIM_SLURM_TEST_KEEP=1  # for a look at what went wrong
  fi
  exit 1
}

[ "$#" -eq 1 ] || { echo "usage: $0 CORDSIM_BINARY" >&2; exit 2; }
cordsim=$(readlink -f "$1")
[ -x "$cordsim" ] || fail "no cordsim binary at $1"
repo=$(cd "$(dirname "$0")/../.." && pwd)

for tool in slurmctld slurmd sbatch scontrol squeue sinfo scancel; do
  command -v "$tool" >/dev/null 2>&1 || skip "slurm-wlm is not installed ($tool not found; apt-get install slurm-wlm munge)"
done
[ "$(id -u)" -eq 0 ] || skip "slurmctld and slurmd must run as root here (run the test as root)"
command -v python3 >/dev/null 2>&1 || skip "python3 is needed to pick free ports"

# The authentication plugin: auth/none where Slurm still ships it (a test on one machine), else a
# private munged with its own key and socket.
plugin_dir=""
for d in /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib/aarch64-linux-gnu/slurm-wlm /usr/lib64/slurm /usr/lib/slurm; do
  if [ -e "$d/auth_munge.so" ] || [ -e "$d/auth_none.so" ]; then plugin_dir=$d; break; fi
done
auth=${CORDSIM_SLURM_TEST_AUTH:-}
if [ -z "$auth" ]; then
  if [ -n "$plugin_dir" ] && [ -e "$plugin_dir/auth_none.so" ] && [ -e "$plugin_dir/cred_none.so" ]; then
    auth=none
  else
    auth=munge
  fi
fi
if [ "$auth" = munge ]; then
  command -v munged >/dev/null 2>&1 || skip "this Slurm needs munge, which is not installed (apt-get install munge)"
fi

tmp=$(mktemp -d /tmp/cordsim-slurm.XXXXXX)
chmod 755 "$tmp"
export SLURM_CONF=$tmp/slurm.conf
jobs_submitted=()
cleanup() {
  # Only what this test started: its jobs, its two daemons, its munged (by their pid files).
  [ "${#jobs_submitted[@]}" -gt 0 ] && scancel "${jobs_submitted[@]}" >/dev/null 2>&1
  for pidfile in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munged.pid"; do
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [ "${CORDSIM_SLURM_TEST_KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# ---- a private Slurm --------------------------------------------------------------------------
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
cpus=$(nproc)
memory=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
[ -n "$memory" ] || memory=2048
[ "$memory" -gt 8192 ] && memory=8192
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/work"
auth_lines="AuthType=auth/none
CredType=cred/none"
if [ "$auth" = munge ]; then
  dd if=/dev/urandom of="$tmp/munge.key" bs=1024 count=1 status=none
  chmod 400 "$tmp/munge.key"
  munged --force --key-file="$tmp/munge.key" --socket="$tmp/munge.socket" --pid-file="$tmp/munged.pid" \
    --log-file="$tmp/log/munged.log" --seed-file="$tmp/munged.seed" || fail "munged did not start: $(cat "$tmp/log/munged.log" 2>/dev/null)"
  auth_lines="AuthType=auth/munge
AuthInfo=socket=$tmp/munge.socket
CredType=cred/munge"
fi
cat >"$SLURM_CONF" <<EOF
ClusterName=cordsimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
$auth_lines
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MinJobAge=600
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -c -f "$SLURM_CONF" || fail "slurmctld did not start: $(tail -5 "$tmp/log/slurmctld.log" 2>/dev/null)"
slurmd -f "$SLURM_CONF" -N "$host" || fail "slurmd did not start: $(tail -5 "$tmp/log/slurmd.log" 2>/dev/null)"
for _ in $(seq 1 60); do
  [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break
  sleep 0.5
done
[ "$(sinfo -h -o %t 2>/dev/null)" = idle ] || fail "the node did not come up: $(sinfo 2>&1); $(tail -5 "$tmp/log/slurmd.log")"
echo "private Slurm $(sinfo -V) on $host ports $ctld_port/$slurmd_port, auth/$auth, $cpus CPUs"

# ---- the sweep: one row of the demo, about 50 s of computing on one thread ----------------------
# Slurm checks time limits every 30 s or so: the first signal comes 10 to 40 s into an attempt
# (observed: 20-28 s), so the row must outlast that.
grid='grid.shape = [72, 52, 24]
grid.spacing = ["50 um", "50 um", "100 um"]
output.vtk = false'
start=$(date +%s.%N)
OMP_NUM_THREADS=1 "$cordsim" run "$repo/scenarios/demo.toml" --backend cpu --threads 1 --out "$tmp/calibration" \
  --set 'grid.shape=[72, 52, 24]' --set 'grid.spacing=["50 um", "50 um", "100 um"]' --set output.vtk=false \
  --set 'run.duration="40 min"' --set 'run.output_interval="10 min"' >"$tmp/calibration.log" 2>&1 ||
  fail "the calibration run failed: $(tail -5 "$tmp/calibration.log")"
minutes=$(python3 -c "import math,sys; w=float(sys.argv[2])-float(sys.argv[1]); print(min(6000, max(60, 10*math.ceil(50*40/w/10))))" \
  "$start" "$(date +%s.%N)")
cat >"$tmp/slurm_row.toml" <<EOF
[sweep]
name = "slurm_row"
scenario = "$repo/scenarios/demo.toml"
[set]
$grid
run.duration = "$minutes min"
run.output_interval = "10 min"
[[row]]
label = "long"
EOF
echo "row: the demo on a 50 um grid for $minutes simulated minutes"

cd "$tmp/work" || fail "no $tmp/work"
submitted=$(CORDSIM="$cordsim" CORDSIM_ROW_CPUS=1 CORDSIM_ROW_MEM=1G "$repo/tools/slurm/submit_sweep.sh" \
  "$tmp/slurm_row.toml" --out "$tmp/runs" --backend cpu -- --time=1 --signal=B:USR1@50 --comment=cordsim-slurm-test 2>&1) ||
  fail "submit_sweep.sh failed: $submitted"
echo "$submitted"
array=$(printf '%s\n' "$submitted" | sed -n 's/.*array job \([0-9]*\);.*/\1/p')
collect=$(printf '%s\n' "$submitted" | sed -n 's/.*collection job \([0-9]*\) runs.*/\1/p')
if [ -z "$array" ] || [ -z "$collect" ]; then fail "no job ids in: $submitted"; fi
jobs_submitted=("$array" "$collect")

# The options after `--` reach both jobs; CORDSIM_ROW_* the array only.
field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
for job in "$array" "$collect"; do
  [ "$(field "$job" Comment)" = cordsim-slurm-test ] || fail "job $job lacks --comment from after '--': $(scontrol show job "$job")"
  [ "$(field "$job" TimeLimit)" = 00:01:00 ] || fail "job $job lacks --time=1 from after '--': $(field "$job" TimeLimit)"
done
[ "$(field "$array" MinMemoryNode)" = 1G ] || fail "the array task lacks CORDSIM_ROW_MEM=1G: $(field "$array" MinMemoryNode)"
[ "$(field "$array" NumCPUs)" = 1 ] || fail "the array task lacks CORDSIM_ROW_CPUS=1: $(field "$array" NumCPUs)"
if [ "$(field "$collect" MinMemoryNode)" != 1G ] || [ "$(field "$collect" NumCPUs)" != 1 ]; then
  fail "the collection job should keep collect.sbatch's 1 CPU / 1G"
fi

# ---- wait: start each requeued attempt at once, until the collection has run --------------------
deadline=$(( $(date +%s) + 210 ))
requeues=0
while :; do
  state=$(field "$collect" JobState)
  case "$state" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
  [ "$(date +%s)" -lt "$deadline" ] || fail "timed out; jobs: $(squeue 2>&1); task log: $(cat "$tmp"/work/cordsim-sweep-*.out 2>/dev/null)"
  while read -r id st reason; do
    if [ "$st" = PENDING ] && [ "$reason" = BeginTime ]; then
      scontrol update JobId="$id" StartTime=now && requeues=$((requeues + 1))
      echo "task $id requeued (BeginTime); started at once"
    fi
  done < <(squeue -h -j "$array" -o "%i %T %r" 2>/dev/null)
  sleep 1
done

log=$(ls "$tmp"/work/cordsim-sweep-"$array"_0.out 2>/dev/null)
[ -n "$log" ] || fail "no task log cordsim-sweep-${array}_0.out in $tmp/work: $(ls "$tmp/work")"
echo "---- $log"
cat "$log"
echo "----"
restarts=$(field "$array" Restarts)
echo "array task: $(field "$array" JobState), exit $(field "$array" ExitCode), restarts $restarts; collection: $state"
[ "$state" = COMPLETED ] || fail "the collection job ended $state: $(cat "$tmp"/work/cordsim-collect-*.out 2>/dev/null)"
[ "$(field "$array" JobState)" = COMPLETED ] || fail "the array task ended $(field "$array" JobState)"
[ "${restarts:-0}" -ge 1 ] || fail "the task was never requeued (the row finished before the signal?)"
grep -q "restart 0)" "$log" || fail "the log lost the first attempt (--open-mode=append)"
grep -q "USR1: the time limit is near" "$log" || fail "array.sbatch did not pass USR1 on"
grep -q "Stopped at t = .* (SIGUSR1); checkpoint" "$log" || fail "cordsim did not checkpoint on USR1"
grep -q "requeueing task 0" "$log" || fail "array.sbatch did not requeue the task"
grep -q "restart $restarts)" "$log" || fail "the log lacks the last attempt (restart $restarts)"
grep -q "resuming from .*checkpoint" "$log" || fail "the requeued task did not resume from the checkpoint"
[ "$(grep -c 'Stopped at t = ' "$log")" -eq "$restarts" ] || fail "$restarts restarts but $(grep -c 'Stopped at t = ' "$log") checkpoints"
summary=$tmp/runs/slurm_row/row_0000/summary.json
[ -f "$summary" ] || fail "the row did not finish: no $summary"
[ ! -e "$tmp/runs/slurm_row/row_0000.partial" ] || fail "row_0000.partial is left behind"
python3 - "$summary" "$((minutes * 60))" <<'EOF' || fail "summary.json: wrong final time"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["final_time_s"] == float(sys.argv[2]), s["final_time_s"]
EOF
results=$tmp/runs/slurm_row/sweep_results.csv
[ "$(wc -l <"$results")" -eq 2 ] || fail "sweep_results.csv: $(cat "$results" 2>/dev/null)"
echo "PASS: checkpointed on USR1 and requeued $restarts time(s) (${requeues} started early), resumed to the end; log kept"
