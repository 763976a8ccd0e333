#!/usr/bin/env bash
# pvbatch under a private virtual X server (Debian's ParaView renders through GLX only).
#   tools/paraview/pvbatch_xvfb.sh SCRIPT.py [ARGS...]
# xvfb-run -a starts at display 99 and can lose a race with another X server starting or a stale
# socket left behind, which ParaView reports as "bad X server connection". So the display number
# is drawn at random, and a run that failed for that reason alone is retried (three tries).
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in 1 2 3; do
  display=$((200 + RANDOM % 700))
  xvfb-run -a -n "$display" -s "-screen 0 1280x1024x24" pvbatch "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  if ((status == 0)) || ! grep -qE "bad X server connection|Xvfb failed to start|cannot open display" "$log"; then
    exit "$status"
  fi
  echo "pvbatch_xvfb: X server trouble on display :$display (attempt $attempt); retrying" >&2
done
exit "$status"
