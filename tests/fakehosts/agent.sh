#!/bin/bash
# plm_rsh_agent for fakehosts.sh: Open MPI calls it as `agent.sh [ssh-options] HOST WORD...`; like ssh, the words
# are joined with spaces and run by a shell inside HOST (rtc-hN or 10.213.77.N).
while [ $# -gt 0 ]; do
  case $1 in
    -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;  # ssh options that take a value
    -*) shift ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "agent.sh: usage: agent.sh [options] HOST COMMAND..." >&2; exit 255; }
host=$1; shift
[ -n "${RTC_AGENT_LOG:-}" ] && printf "%s argv:%s\n" "$(hostname)" "$(printf " [%s]" "$host" "$@")" >> "$RTC_AGENT_LOG"
exec "$(dirname "$0")/fakehosts.sh" exec "$host" sh -c "$*"
