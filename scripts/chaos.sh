#!/usr/bin/env bash
# Fault injection: kill -9 random programs of a running experiment at random intervals.
#
#   scripts/chaos.sh logs/<exp> [min_interval_s] [max_interval_s] [programs...]
#
# Picks one of the experiment's programs (default: all of them) every
# min..max seconds (default 5..15), kills it with SIGKILL by the PID svstat
# reports, and prints what it did. Supervise restarts it; the run must carry on.
# Ends by itself when the run is over (no supervise answers any more).
set -euo pipefail
exp=${1:?usage: scripts/chaos.sh logs/<exp> [min_interval_s] [max_interval_s] [programs...]}
min=${2:-5}
max=${3:-15}
shift $(( $# < 3 ? $# : 3 ))
services="$exp/services"
if [ ! -d "$services" ]; then
  echo "error: $exp is not a running experiment (no $services)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then programs=("$@"); else mapfile -t programs < <(ls "$services"); fi

while true; do
  sleep $(( min + RANDOM % (max - min + 1) ))
  victim=${programs[RANDOM % ${#programs[@]}]}
  state=$(svstat "$services/$victim" 2>/dev/null) || { echo "chaos: run is over"; exit 0; }
  case "$state" in
    *"supervise not running"*|*"unable to"*) echo "chaos: run is over"; exit 0 ;;
  esac
  pid=$(sed -n 's/.*: up (pid \([0-9]*\)).*/\1/p' <<<"$state")
  if [ -n "$pid" ]; then
    kill -9 "$pid" 2>/dev/null && echo "chaos: $(date +%T) killed $victim (pid $pid)"
  fi
done
