#!/usr/bin/env bash
# Fault injection: kill -9 random programs of a running experiment at random intervals.
#
#   scripts/chaos.sh [--from-launch] [--max-kills N] logs/<exp> [min_interval_s] [max_interval_s]
#                    [programs...]
#
# Picks one of the experiment's programs (default: all of them) every
# min..max seconds (default 5..15), kills it with SIGKILL by the PID svstat
# reports, and prints what it did. Supervise restarts it; the run must carry on.
# A program is killed again only once the run has made progress (the trainer
# rewrote status.json) since its last kill: more is a crash loop, which the
# launcher stops the run for. Ends by itself when the run is over (no supervise
# answers any more), or after N kills with --max-kills.
#
# --from-launch: start it with run_script.sh; it waits (at most 3 minutes) for
# the run's programs, and kills the first as soon as one is up, before the run's
# first checkpoint, rather than after a first interval.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/python.sh
source "$repo/scripts/python.sh"
usage="usage: scripts/chaos.sh [--from-launch] [--max-kills N] logs/<exp> [min_interval_s] [max_interval_s] [programs...]"
from_launch=0
max_kills=0  # no limit
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --from-launch) from_launch=1; shift ;;
    --max-kills)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "error: --max-kills takes a positive number" >&2; exit 2; }
      max_kills=$2
      shift 2 ;;
    *) echo "error: unknown option $1; $usage" >&2; exit 2 ;;
  esac
done
exp=${1:?$usage}
min=${2:-5}
max=${3:-15}
shift $(( $# < 3 ? $# : 3 ))
services="$exp/services"

progress() {  # the trainer's last rewrite of status.json
  sed -n 's/.*"updated": \([0-9.]*\).*/\1/p' "$exp/status.json" 2>/dev/null || true
}

up_pid() {  # the pid of a program that is up, else nothing; fails once the run is over
  # svstat read by the launcher's parser, so that both agree on what is up.
  PYTHONPATH="$repo" "$sac_python" -m tfagents_system.launcher.daemontools pid "$services/$1"
}

if [ "$from_launch" = 1 ]; then
  # A resumed dir still has the last run's services, with no supervise, until the launcher
  # writes them again: wait for a program that is up.
  while true; do
    if [ -d "$services" ]; then
      for program in $(ls "$services" 2>/dev/null); do
        [ -n "$(up_pid "$program" 2>/dev/null || true)" ] && break 2
      done
    fi
    if (( SECONDS >= 180 )); then
      echo "error: no program of $exp came up within 3 minutes" >&2
      exit 2
    fi
    sleep 0.1
  done
elif [ ! -d "$services" ]; then
  echo "error: $exp is not a running experiment (no $services)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then programs=("$@"); else mapfile -t programs < <(ls "$services"); fi

run_is_over() {
  echo "chaos: run is over"
  exit 0
}

declare -A killed_at  # program: the progress mark when it was last killed
kills=0
first=$from_launch
while true; do
  if [ "$first" = 1 ]; then first=0; else sleep $(( min + RANDOM % (max - min + 1) )); fi
  up_pid "${programs[0]}" >/dev/null || run_is_over
  mark=$(progress)
  eligible=()
  for program in "${programs[@]}"; do
    if [ -z "${killed_at[$program]+set}" ] || [ "${killed_at[$program]}" != "$mark" ]; then
      eligible+=("$program")
    fi
  done
  [ ${#eligible[@]} -gt 0 ] || continue
  victim=${eligible[RANDOM % ${#eligible[@]}]}
  pid=$(up_pid "$victim") || run_is_over
  if [ -n "$pid" ]; then
    if kill -9 "$pid" 2>/dev/null; then
      echo "chaos: $(date +%T) killed $victim (pid $pid)"
      kills=$(( kills + 1 ))
    fi
    killed_at[$victim]=$mark
    if (( max_kills > 0 && kills >= max_kills )); then
      echo "chaos: $kills kills done"
      exit 0
    fi
  fi
done
