#!/usr/bin/env bash
# The profiles behind docs/performance.md, for one operation looped in a plain process (the `probe` verb of
# RuntimeCtl.Benchmarks):
#
#   benchmarks/profile.sh drain        5 drains of 100,000 commands: GC share, allocations, perf's top symbols
#   benchmarks/profile.sh due-empty    2,000,000 due polls with nothing queued: syscalls per poll (strace -c)
#   benchmarks/profile.sh poll-1       5,000 polls that each find one command: syscalls per poll (strace -c)
#
# perf and strace are installed with apt-get when missing (as root). JIT-compiled frames are named through the
# runtime's perf map (DOTNET_PerfMapEnabled=1; W^X off so the code is not in an anonymous double mapping).
# Output in BenchmarkDotNet.Artifacts/profile.
set -euo pipefail
export LC_ALL=C DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cd "$(dirname "$0")/.."

what=${1:-drain}
out=BenchmarkDotNet.Artifacts/profile
mkdir -p "$out"
for tool in perf:linux-perf strace:strace; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tool#*:}" >/dev/null 2>&1 || true
  fi
done

dotnet build benchmarks/RuntimeCtl.Benchmarks -c Release -nologo -v q -clp:NoSummary >/dev/null
probe=(dotnet artifacts/bin/RuntimeCtl.Benchmarks/release/RuntimeCtl.Benchmarks.dll probe)

case "$what" in
  drain)
    echo "== GC share and allocations per drain (the first drain runs cold code)"
    "${probe[@]}" drain 100000 5
    echo "== perf: where the CPU goes over 5 drains"
    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -q -F 999 -g -o "$out/drain.perf" "${probe[@]}" drain 100000 5 >/dev/null
    perf report -i "$out/drain.perf" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8
    perf report -i "$out/drain.perf" --no-children --sort symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-200 | head -30
    ;;
  due-empty | poll-1)
    count=$([ "$what" = due-empty ] && echo 2000000 || echo 5000)
    echo "== strace -c over $count operations (divide the calls by $count)"
    strace -f -c -o "$out/$what.strace" "${probe[@]}" "$what" "$count"
    grep -vE ' (futex|poll|epoll_wait|sched_yield|mprotect|mmap|munmap|madvise|rt_sig|clone3|rseq|sigaltstack|prctl|membarrier|brk)$' "$out/$what.strace" | head -20
    ;;
  *)
    echo "usage: benchmarks/profile.sh drain|due-empty|poll-1" >&2
    exit 2
    ;;
esac
