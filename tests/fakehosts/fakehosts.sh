#!/bin/bash
# Fake hosts for multi-node Open MPI tests: network namespaces rtc-h1..rtc-hN on a bridge that lives in
# namespace rtc-br, 10.213.77.0/24, each with its own hostname (UTS ns), /etc/hosts and /dev/shm (mount ns).
# Nothing is added to the root network namespace.
#   fakehosts.sh up [N]            build N (2..9, default 3) hosts; leftovers of an earlier run are removed first
#   fakehosts.sh down              remove everything (idempotent)
#   fakehosts.sh run [N] -- CMD..  up, run CMD in the root namespace, always down afterwards; exits with CMD's status
#   fakehosts.sh exec HOST CMD..   run CMD inside HOST (rtc-hN or its address)
set -uo pipefail
STATE=${RTC_FAKEHOSTS_STATE:-/run/rtc-fakehosts}
NET=10.213.77
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

down() {
  local f pid ns
  # Everything still running inside a fake host (holders, stray orteds and ranks) goes first.
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^rtc-(h[0-9]+|br)$/ {print $1}'); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null   # takes its veth end along, and the peer in rtc-br with it
  done
  # Holders whose namespace name is gone already: kill only if the PID is still one of ours.
  for f in "$STATE"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null); ns=$(basename "$f" .pid)
    [ -n "$pid" ] && [ "$(nsenter -t "$pid" --uts hostname 2>/dev/null)" = "$ns" ] && kill -9 "$pid" 2>/dev/null
  done
  # Session dirs of killed jobs (/tmp is shared; /dev/shm is per host and went with its mount namespace).
  rm -rf "$STATE" /tmp/ompi.rtc-h[0-9]*.[0-9]*
}

up() {
  local n=${1:-3} i h ready
  [[ $n =~ ^[2-9]$ ]] || { echo "fakehosts: N must be 2..9" >&2; return 2; }
  down
  mkdir -p "$STATE" || return 1
  { echo "127.0.0.1 localhost"; for i in $(seq 1 "$n"); do echo "$NET.$i rtc-h$i"; done; } > "$STATE/hosts"
  : > "$STATE/hostfile"
  ip netns add rtc-br || return 1
  ip -n rtc-br link add br0 type bridge || return 1
  ip -n rtc-br link set lo up && ip -n rtc-br link set br0 up || return 1
  for i in $(seq 1 "$n"); do
    h=rtc-h$i
    ip netns add "$h" || return 1
    # Create the pair inside rtc-br and move one end straight into the host: the root namespace never sees it.
    ip -n rtc-br link add "veth$i" type veth peer name eth0 netns "$h" || return 1
    ip -n rtc-br link set "veth$i" master br0 up || return 1
    ip -n "$h" addr add "$NET.$i/24" dev eth0 || return 1
    ip -n "$h" link set lo up && ip -n "$h" link set eth0 up || return 1
    # Holder: net ns + private mount ns (from ip netns exec: own /etc/hosts, own /dev/shm, shared /tmp) + own
    # UTS ns; the agent enters all three.
    setsid ip netns exec "$h" unshare --uts sh -c \
      'hostname "$1" && mount --bind "$2/hosts" /etc/hosts && mount -t tmpfs -o mode=1777 rtc-shm /dev/shm && echo $$ > "$2/$1.pid.tmp" && mv "$2/$1.pid.tmp" "$2/$1.pid" && exec sleep infinity' \
      rtc-fakehost-holder "$h" "$STATE" </dev/null >/dev/null 2>&1 &
    disown
    echo "$h slots=${RTC_FAKEHOSTS_SLOTS:-1}" >> "$STATE/hostfile"
  done
  for i in $(seq 1 "$n"); do
    ready=
    for _ in $(seq 1 50); do [ -s "$STATE/rtc-h$i.pid" ] && { ready=1; break; }; sleep 0.1; done
    [ -n "$ready" ] || { echo "fakehosts: holder for rtc-h$i did not start" >&2; return 1; }
  done
  echo "fakehosts: $n hosts up; hostfile $STATE/hostfile" >&2
}

enter() {  # enter HOST CMD...: replaces this process with CMD inside HOST
  local h=$1; shift
  [[ $h == "$NET".* ]] && h=rtc-h${h##*.}
  local pid; pid=$(cat "$STATE/$h.pid" 2>/dev/null) || { echo "fakehosts: no such host $h" >&2; exit 255; }
  exec nsenter -t "$pid" --net --uts --mount --wd="$PWD" -- "$@"
}

case ${1:-} in
  up) shift; up "$@" || { down; exit 1; } ;;
  down) down ;;
  exec) shift; [ $# -ge 2 ] || { echo "usage: $0 exec HOST CMD..." >&2; exit 2; }; enter "$@" ;;
  run)
    shift; n=3
    [[ ${1:-} =~ ^[0-9]+$ ]] && { n=$1; shift; }
    [ "${1:-}" = -- ] && shift
    # The command runs in the background so that a TERM/INT reaches the traps at once (bash defers traps
    # until a foreground child ends); background jobs ignore SIGINT, so the child is sent TERM either way.
    child=
    trap down EXIT
    trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 130' INT
    trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 143' TERM
    up "$n" || exit 1
    RTC_FAKEHOSTS_HOSTFILE=$STATE/hostfile RTC_FAKEHOSTS_AGENT=$HERE/agent.sh "$@" <&0 &
    child=$!
    wait "$child"
    exit $? ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
