#!/usr/bin/env bash
# Fault injection for checkpoint and restart (issue 17, item 2). Each mode runs a small scenario
# once without interruption (the reference), then breaks copies of it and checks what is left:
#
#   kill [N]     the transport demo on a coarse grid (60 s, a checkpoint every 2 s, ~1.5 s wall) is
#                killed with SIGKILL N times (default 30): half at a random moment of the run, half
#                while a checkpoint is being written (once checkpoint_NNNNNN.h5.tmp appears, after
#                0-2 ms). Each is resumed from what is left (--resume OUT.partial when it holds a
#                checkpoint, else a fresh run, which discards the staging directory) and its files
#                are compared with the reference: cordsim.h5 with h5diff (every dataset and
#                attribute, exact), the CSV, XDMF, PVD and VTK files and summary.json (less its
#                wall time) with cmp, and the list of files (no leftover checkpoint or .tmp).
#   als [N]      the same for an ALS run (scenarios/als/wild_type_rat.toml, 400x400x800 um voxels,
#                6 d, a checkpoint every slow step of 6 h; default N 30), comparing readouts.csv,
#                summary.json, events.csv, mass_budget.csv and cordsim.h5. Only equality between
#                the runs is checked, never a value, so a change of the model does not break it.
#   disk-full [N]  N times (default 3), the output directory on a 40 MiB tmpfs that a second
#                process fills once the run's k-th checkpoint is in place (k random in 1..10): the
#                run must stop with exit 3 and "No space left on device", naming the path and the
#                last complete checkpoint it keeps, and that, copied to a bigger disk, must resume
#                to the reference, bitwise. Needs root (mount); skipped otherwise.
#   read-only [N]  the same, the output directory made read-only mid-run instead. As root a
#                read-only remount of a tmpfs is tried first, but Linux refuses it while cordsim
#                holds files open for writing (EBUSY), so root makes the directory tree immutable
#                (chattr -R +i, which stops root, unlike permissions); otherwise chmod -R a-w. The
#                run must stop with a non-zero exit and the system's reason, leave no damaged
#                file, and resume to the reference once the directory is writable again.
#   all          (default) every mode above, with its default N.
#
#   tools/chaos.sh [--cordsim PATH] [--seed S] [--work DIR] [--keep] [MODE [N]]
#
# After each SIGKILL every file named checkpoint_NNNNNN.h5 must read back in full (h5dump) and a
# cordsim.xdmf, if present, must be complete; a file that does not is counted as corrupt. The last
# line of each mode gives the counts, e.g.
#   chaos kill: kills 30 (15 at random moments, 15 in checkpoint writes; 11 left a .tmp), resumes 30 (9 rebuilt
#   cordsim.h5), bitwise equal 30, corrupt files 0
# ("rebuilt": cordsim.h5 held frames written after the checkpoint, and the resume copied the others
# into a new file; host/io/run_output.cpp).
# Exit status: 0 when every resume succeeded, every output equals the reference and no file is
# corrupt; 1 otherwise; 77 when the one mode asked for cannot run here (CTest's SKIP_RETURN_CODE).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cordsim="${CORDSIM:-$repo/build/host/cordsim}"
seed="${CHAOS_SEED:-$$}"
work=""
keep=0
while (($#)); do
  case "$1" in
    --cordsim) cordsim="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
mode="${1:-all}"
count_given="${2:-}"
case "$mode" in all|kill|als|disk-full|read-only) ;; *) echo "chaos: unknown mode '$mode'" >&2; exit 2 ;; esac
[[ -z "$count_given" || "$count_given" =~ ^[1-9][0-9]*$ ]] ||
  { echo "chaos: N must be a positive whole number, not '$count_given'" >&2; exit 2; }
[[ -x "$cordsim" ]] || { echo "chaos: no cordsim at '$cordsim' (build it, or pass --cordsim PATH)" >&2; exit 2; }
for tool in h5diff h5dump; do
  command -v "$tool" >/dev/null || { echo "chaos: $tool not found (apt-get install hdf5-tools)" >&2; exit 2; }
done
cordsim="$(cd "$(dirname "$cordsim")" && pwd)/$(basename "$cordsim")"
RANDOM=$seed
echo "chaos: seed $seed (rerun with --seed $seed), cordsim $cordsim"

if [[ -z "$work" ]]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/cordsim_chaos.XXXXXX")"
else
  mkdir -p "$work"
  work="$(cd "$work" && pwd)"
fi
mounts=()
cleanup() {
  local m
  for m in "${mounts[@]}"; do
    chattr -R -i "$m" 2>/dev/null
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  if ((keep)); then echo "chaos: files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

now() { echo "${EPOCHREALTIME/[.,]/}"; }  # microseconds
# A process that has exited but is not yet reaped (a zombie) still answers kill -0. No subshell:
# the checkpoint watch below polls in a tight loop.
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}

# ---- the two scenarios ---------------------------------------------------------------------------
transport_args=(run --set 'grid.shape=[36, 26, 12]' --set 'grid.spacing=["100 um", "100 um", "200 um"]'
  --set 'run.duration="60 s"' --set 'run.output_interval="2 s"' --set 'run.checkpoint_interval="2 s"'
  --backend cpu --threads 1)
transport_files=(mass_budget.csv summary.json cordsim.xdmf cordsim.pvd)
als_args=(run "$repo/scenarios/als/wild_type_rat.toml" --set 'geometry.voxel=["400 um", "400 um", "800 um"]'
  --set 'run.duration="6 d"' --set 'run.output_interval="1 d"' --set 'run.checkpoint_interval="6 h"'
  --backend cpu --threads 1)
als_files=(readouts.csv summary.json events.csv mass_budget.csv cordsim.xdmf)

# run_cordsim DIR LOG ARGS...: cordsim in DIR, output to LOG; returns its exit status.
run_cordsim() {
  local dir="$1" log="$2"
  shift 2
  (cd "$dir" && exec "$cordsim" "$@") >"$log" 2>&1
}

# same_run REF OUT FILES...: OUT holds the files of REF, bit for bit (summary.json less wall time).
# Prints what differs; returns non-zero then.
same_run() {
  local ref="$1" out="$2" f status=0
  shift 2
  if [[ ! -d "$out" ]]; then echo "    no output directory $out"; return 1; fi
  if ! diff <(cd "$ref" && find . -type f | sort) <(cd "$out" && find . -type f | sort) >/dev/null; then
    echo "    the files differ:"; diff <(cd "$ref" && find . -type f | sort) <(cd "$out" && find . -type f | sort) | sed 's/^/      /'
    status=1
  fi
  if ! h5diff -q "$ref/cordsim.h5" "$out/cordsim.h5" >/dev/null 2>&1; then
    echo "    cordsim.h5 differs (h5diff)"; status=1
  fi
  for f in "$@" $(cd "$ref" && find vtk -name '*.vti' 2>/dev/null | sort); do
    if [[ "$f" == summary.json ]]; then
      cmp -s <(grep -v '"wall_time_s"' "$ref/$f") <(grep -v '"wall_time_s"' "$out/$f" 2>/dev/null) ||
        { echo "    $f differs"; status=1; }
    else
      cmp -s "$ref/$f" "$out/$f" || { echo "    $f differs"; status=1; }
    fi
  done
  return $status
}

# damaged STAGING: counts the files a crash must never leave damaged. Checkpoints under their final
# name must read back in full; cordsim.xdmf is written under a temporary name and renamed.
damaged() {
  local staging="$1" f n=0
  for f in "$staging"/checkpoints/checkpoint_[0-9][0-9][0-9][0-9][0-9][0-9].h5; do
    [[ -e "$f" ]] || continue
    if ! h5dump "$f" >/dev/null 2>&1; then echo "    corrupt checkpoint $f" >&2; n=$((n + 1)); fi
  done
  if [[ -e "$staging/cordsim.xdmf" ]] && [[ "$(tail -n 1 "$staging/cordsim.xdmf")" != "</Xdmf>" ]]; then
    echo "    incomplete $staging/cordsim.xdmf" >&2; n=$((n + 1))
  fi
  echo "$n"
}

has_checkpoint() { compgen -G "$1/checkpoints/checkpoint_[0-9][0-9][0-9][0-9][0-9][0-9].h5" >/dev/null; }

# ---- kill -9 and resume --------------------------------------------------------------------------
# kill_and_resume NAME N ARGS_ARRAY FILES_ARRAY
kill_and_resume() {
  local name="$1" n="$2"
  local -n args="$3" files="$4"
  local dir="$work/$name"
  mkdir -p "$dir"
  local t0 t1
  t0=$(now)
  if ! run_cordsim "$dir" "$dir/ref.log" "${args[@]}" --out ref; then
    echo "chaos $name: the uninterrupted run failed:"; tail -20 "$dir/ref.log"; return 1
  fi
  t1=$(now)
  local wall_us=$((t1 - t0))
  local checkpoints
  checkpoints=$(grep -c "checkpoint at t" "$dir/ref.log")
  echo "chaos $name: uninterrupted run $((wall_us / 1000)) ms, $checkpoints checkpoints"
  local kills=0 at_random=0 in_write=0 tmp_left=0 resumes=0 equal=0 corrupt=0 finished=0 attempts=0 rebuilt=0
  while ((kills < n && attempts < 3 * n)); do
    attempts=$((attempts + 1))
    local out="run_$attempts" staging="$dir/run_$attempts.partial" how
    (cd "$dir" && exec "$cordsim" "${args[@]}" --out "$out") >"$dir/$out.log" 2>&1 &
    local pid=$!
    if ((attempts % 2)); then
      local delay_us=$(( ($((RANDOM * 32768 + RANDOM)) % wall_us) ))
      sleep "$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))"
      how="at $((delay_us / 1000)) ms"
    else
      # Checkpoint k's write (or a later one's, should the watch miss k's), then 0-25 ms into it.
      local k=$((1 + RANDOM % (checkpoints > 0 ? checkpoints : 1))) f sequence found=0 deadline
      deadline=$(( $(now) + 3 * wall_us + 2000000 ))
      while ((!found)) && alive "$pid" && ((${EPOCHREALTIME/[.,]/} < deadline)); do
        for f in "$staging"/checkpoints/checkpoint_*.h5.tmp; do
          [[ -e "$f" ]] || continue
          sequence="${f##*/checkpoint_}"
          sequence="${sequence%%.*}"
          ((10#$sequence >= k)) && found=1
        done
      done
      # A busy wait: sleep(1) would fork, and a small checkpoint is written in about a millisecond.
      local sub_us=$((RANDOM % 2000)) until_us
      until_us=$(( ${EPOCHREALTIME/[.,]/} + sub_us ))
      while ((${EPOCHREALTIME/[.,]/} < until_us)); do :; done
      how="in checkpoint write $k (+$sub_us us)"
    fi
    kill -9 "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null  # without bash's "Killed" notice
    local rc=$?
    if ((rc != 137)); then
      # It ended first (finished, or failed): not a kill.
      if ((rc != 0)); then echo "  attempt $attempts: the run failed (exit $rc) before the kill"; tail -5 "$dir/$out.log"; fi
      finished=$((finished + 1))
      rm -rf "${dir:?}/$out" "$staging"
      continue
    fi
    kills=$((kills + 1))
    if ((attempts % 2)); then at_random=$((at_random + 1)); else in_write=$((in_write + 1)); fi
    local left="" bad
    compgen -G "$staging/checkpoints/*.tmp" >/dev/null && { tmp_left=$((tmp_left + 1)); left=", a .tmp left"; }
    bad=$(damaged "$staging")
    corrupt=$((corrupt + bad))
    local resume=(--out "$out") from="a fresh start"
    if [[ -d "$dir/$out" ]]; then
      from="nothing (the run had finished)"
    else
      if has_checkpoint "$staging"; then
        resume=(--resume "$out.partial")
        from="$(cd "$staging/checkpoints" && ls checkpoint_*.h5 | grep -v tmp | sort | tail -1)"
      fi
      if ! run_cordsim "$dir" "$dir/$out.resume.log" "${args[@]}" "${resume[@]}"; then
        echo "  kill $kills ($how$left): the resume from $from FAILED:"; tail -8 "$dir/$out.resume.log" | sed 's/^/    /'
        continue
      fi
    fi
    resumes=$((resumes + 1))
    if grep -q "in a rebuilt file" "$dir/$out.resume.log" 2>/dev/null; then
      rebuilt=$((rebuilt + 1)); from+=" (cordsim.h5 rebuilt without the frames after it)"
    fi
    if same_run "$dir/ref" "$dir/$out" "${files[@]}"; then
      equal=$((equal + 1))
      echo "  kill $kills ($how$left): resumed from $from, bitwise equal"
      ((keep)) || rm -rf "${dir:?}/$out" "$staging"
    else
      echo "  kill $kills ($how$left): resumed from $from, DIFFERS from the uninterrupted run"
      h5dump -H "$dir/$out/cordsim.h5" >/dev/null 2>&1 || { echo "    and cordsim.h5 does not read"; corrupt=$((corrupt + 1)); }
    fi
  done
  echo "chaos $name: kills $kills ($at_random at random moments, $in_write in checkpoint writes; $tmp_left left a .tmp), resumes $resumes ($rebuilt rebuilt cordsim.h5), bitwise equal $equal, corrupt files $corrupt"
  ((finished)) && echo "chaos $name: ($finished runs ended before their kill and were not counted)"
  ((kills == n && resumes == n && equal == n && corrupt == 0))
}

# ---- small file systems --------------------------------------------------------------------------
# make_tmpfs DIR SIZE: mounts a tmpfs there (root only); returns 77 when it cannot.
make_tmpfs() {
  if ((EUID != 0)); then echo "chaos: not root, so no tmpfs can be mounted"; return 77; fi
  mkdir -p "$1"
  if ! mount -t tmpfs -o "size=$2" cordsim_chaos "$1" 2>"$work/mount.err"; then
    echo "chaos: cannot mount a tmpfs on $1: $(cat "$work/mount.err")"; return 77
  fi
  mounts+=("$1")
}

# wait_for_checkpoint PID STAGING K: true once STAGING holds checkpoint K (or a later one) while PID
# runs.
wait_for_checkpoint() {
  local deadline=$(( $(now) + 30000000 )) f sequence
  while alive "$1" && ((${EPOCHREALTIME/[.,]/} < deadline)); do
    for f in "$2"/checkpoints/checkpoint_[0-9][0-9][0-9][0-9][0-9][0-9].h5; do
      [[ -e "$f" ]] || continue
      sequence="${f##*/checkpoint_}"
      ((10#${sequence%%.*} >= $3)) && return 0
    done
    sleep 0.002
  done
  return 1
}

# fault_mid_run MODE REPS: REPS runs of the transport scenario, each broken (MODE disk-full or
# read-only) once its k-th checkpoint is in place (k random in 1..10): the run must stop with a
# clear error (disk-full: exit 3 and "No space left on device"; read-only: a non-zero exit and the
# system's reason), naming the path, with no damaged file and a checkpoint kept, which resumes to
# the uninterrupted run bitwise (disk-full: copied to a bigger disk first; read-only: once the
# directory is writable again).
fault_mid_run() {
  local name="$1" reps="$2" dir="$work/$1" fs how
  mkdir -p "$dir"
  if [[ "$name" == disk-full ]]; then
    # Roomy enough for the whole run (6 MiB and the checkpoints), so that the check for disk space
    # before the run lets it start; a second process fills it once the run is under way.
    make_tmpfs "$dir/fs" 40m || return $?
    fs="$dir/fs"
  elif ((EUID == 0)); then
    make_tmpfs "$dir/fs" 64m || return $?  # chattr +i needs a file system with inode flags
    fs="$dir/fs"
  else
    fs="$dir/fs"
    mkdir -p "$fs"
  fi
  if ! run_cordsim "$dir" "$dir/ref.log" "${transport_args[@]}" --out ref; then
    echo "chaos $name: the uninterrupted run failed:"; tail -20 "$dir/ref.log"; return 1
  fi
  local rep faults=0 clear=0 resumed=0 equal=0 corrupt=0 rebuilt=0
  for ((rep = 1; rep <= reps; ++rep)); do
    local k=$((1 + RANDOM % 10)) out="out_$rep" log="$dir/run_$rep.log" ok=1
    (cd "$fs" && exec "$cordsim" "${transport_args[@]}" --out "$out") >"$log" 2>&1 &
    local pid=$!
    if ! wait_for_checkpoint "$pid" "$fs/$out.partial" "$k"; then
      kill -9 "$pid" 2>/dev/null; { wait "$pid"; } 2>/dev/null
      echo "  run $rep: checkpoint $k never appeared"; tail -5 "$log" | sed 's/^/    /'; continue
    fi
    if [[ "$name" == disk-full ]]; then
      dd if=/dev/zero of="$fs/filler" bs=64k >/dev/null 2>&1
      how="disk filled after checkpoint $k"
    elif ((EUID == 0)); then
      if mount -o remount,ro "$fs" 2>"$dir/remount.err"; then
        how="tmpfs remounted read-only after checkpoint $k"
      else
        chattr -R +i "$fs/$out.partial"
        how="made immutable (chattr -R +i) after checkpoint $k; a read-only remount was refused: $(head -1 "$dir/remount.err" | sed 's/^mount: [^:]*: //')"
      fi
    else
      chmod -R a-w "$fs/$out.partial"
      how="chmod -R a-w after checkpoint $k"
    fi
    wait "$pid"
    local rc=$?
    faults=$((faults + 1))
    local message
    message="$(grep -m1 "^cordsim: " "$log" | sed 's/: resume with .*//')"
    echo "  run $rep: $how: exit $rc: ${message:-(no message)}"
    if [[ "$name" == disk-full ]]; then
      ((rc == 3)) || { echo "    FAIL: expected exit 3"; ok=0; }
      grep -q "No space left on device" "$log" || { echo "    FAIL: the message does not say 'No space left on device'"; ok=0; }
    else
      ((rc != 0)) || { echo "    FAIL: expected a non-zero exit"; ok=0; }
      grep -qE "Read-only file system|Operation not permitted|Permission denied" "$log" ||
        { echo "    FAIL: the message does not give the system's reason"; ok=0; }
    fi
    grep -q "$out.partial" "$log" || { echo "    FAIL: the message does not name the path"; ok=0; }
    grep -q "the last checkpoint (t = .*) is kept in" "$log" || { echo "    FAIL: the message does not name the kept checkpoint"; ok=0; }
    ((ok)) && clear=$((clear + 1))
    # Writable again (read-only), or elsewhere (disk-full): nothing may be damaged, and the run
    # goes on to the reference.
    local staging="$fs/$out.partial" where="$fs"
    if [[ "$name" == disk-full ]]; then
      rm -f "$fs/filler"
      if [[ -d "$fs/$out.partial" ]]; then cp -a "$fs/$out.partial" "$dir/$out.partial"; rm -rf "${fs:?}/$out.partial"; fi
      staging="$dir/$out.partial"
      where="$dir"
    elif ((EUID == 0)); then
      mount -o remount,rw "$fs" 2>/dev/null
      chattr -R -i "$fs/$out.partial"
    else
      chmod -R u+w "$fs/$out.partial"
    fi
    local bad
    bad=$(damaged "$staging")
    corrupt=$((corrupt + bad))
    if ! has_checkpoint "$staging"; then echo "    FAIL: no checkpoint kept"; continue; fi
    local kept
    kept="$(cd "$staging/checkpoints" && ls checkpoint_[0-9]*[0-9].h5 | tail -1)"
    if ! run_cordsim "$where" "$dir/resume_$rep.log" "${transport_args[@]}" --resume "$out.partial"; then
      echo "    FAIL: the resume from $kept failed:"; tail -8 "$dir/resume_$rep.log" | sed 's/^/      /'; continue
    fi
    resumed=$((resumed + 1))
    if grep -q "in a rebuilt file" "$dir/resume_$rep.log"; then rebuilt=$((rebuilt + 1)); kept+=" (cordsim.h5 rebuilt)"; fi
    if same_run "$dir/ref" "$where/$out" "${transport_files[@]}"; then
      equal=$((equal + 1))
      echo "    resumed from $kept$([[ "$name" == disk-full ]] && echo " on a bigger disk"), bitwise equal"
      ((keep)) || rm -rf "${where:?}/$out"
    else
      echo "    resumed from $kept, DIFFERS from the uninterrupted run"
    fi
  done
  echo "chaos $name: faults $faults, clear errors $clear, resumes $resumed ($rebuilt rebuilt cordsim.h5), bitwise equal $equal, corrupt files $corrupt"
  ((faults == reps && clear == reps && resumed == reps && equal == reps && corrupt == 0))
}

# ---- main ----------------------------------------------------------------------------------------
overall=0
run_mode() {
  local rc
  case "$1" in
    kill) kill_and_resume kill "${count_given:-30}" transport_args transport_files; rc=$? ;;
    als) kill_and_resume als "${count_given:-30}" als_args als_files; rc=$? ;;
    disk-full|read-only) fault_mid_run "$1" "${count_given:-3}"; rc=$? ;;
  esac
  if ((rc == 77)); then
    echo "chaos $1: SKIPPED"
    [[ "$mode" != all ]] && overall=77
  elif ((rc != 0)); then
    echo "chaos $1: FAILED"
    overall=1
  fi
}
if [[ "$mode" == all ]]; then
  for m in kill als disk-full read-only; do run_mode "$m"; done
else
  run_mode "$mode"
fi
exit "$overall"
