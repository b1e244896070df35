#!/usr/bin/env bash
# RuntimeCtl's performance run, from a clean clone, in one command:
#
#   benchmarks/run.sh              BenchmarkDotNet micro-benchmarks, then process-level timings (about 15 min on 2 cores)
#   benchmarks/run.sh --micro      only the BenchmarkDotNet part
#   benchmarks/run.sh --process    only the process-level part
#   BENCH_FILTER='*Poll*' benchmarks/run.sh --micro      another selection (BenchmarkDotNet's --filter glob)
#
# BenchmarkDotNet: 1 launch, 3 warm-up and 15 measured iterations of about 250 ms per benchmark (the drain: 15
# iterations of one full drain each), MemoryDiagnoser and the JSON exporter on. Reports land in
# BenchmarkDotNet.Artifacts/results (ignored by git); a one-screen summary with the issue's targets is printed.
#
# Process level: the Native AOT `runtimectl` (published here from src/RuntimeCtl.Cli) timed with hyperfine (enqueue,
# `status --last 20` on 100k and 1M acks), the `--wait` latency from the ack written to the CLI's exit, and
# samples/QuickStart `--once` draining an empty queue, a 100k and a 1M backlog (wall time and peak RSS from
# /usr/bin/time -v). Results in BenchmarkDotNet.Artifacts/process. hyperfine and GNU time are installed with apt-get
# when missing and this runs as root; without hyperfine a plain loop measures instead.
set -euo pipefail
export LC_ALL=C DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cd "$(dirname "$0")/.."

micro=1 process=1
case "${1:-}" in
  --micro) process=0 ;;
  --process) micro=0 ;;
  "") ;;
  *) echo "usage: benchmarks/run.sh [--micro | --process]" >&2; exit 2 ;;
esac

results=BenchmarkDotNet.Artifacts
bench=(dotnet run -c Release --no-build --project benchmarks/RuntimeCtl.Benchmarks --)

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), .NET SDK $(dotnet --version), $(uname -sr)"
# Which core was measured: a digest of its sources (the benchmarks call its internals).
echo "== sources: src/RuntimeCtl $(find src/RuntimeCtl -name '*.cs' -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-12), src/RuntimeCtl.Cli $(find src/RuntimeCtl.Cli -name '*.cs' -print0 2>/dev/null | sort -z | xargs -0 cat 2>/dev/null | sha256sum | cut -c1-12)"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "== load average at start: $(load)"
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "   warning: the machine is busy; times will be pessimistic (allocations and syscall counts are not affected)"
fi
echo "== building benchmarks/RuntimeCtl.Benchmarks (Release)"
dotnet build benchmarks/RuntimeCtl.Benchmarks -c Release -nologo -v q -clp:NoSummary

if [ "$micro" = 1 ]; then
  # A generated project left by an interrupted run would make BenchmarkDotNet find two projects of that name.
  rm -rf artifacts/bin/RuntimeCtl.Benchmarks/release/RuntimeCtl.Benchmarks-* "$results/results"
  log="$results/run-micro.log"
  mkdir -p "$results"
  echo "== BenchmarkDotNet (full log: $log)"
  set +e
  "${bench[@]}" --filter "${BENCH_FILTER:-*}" --launchCount 1 --warmupCount 3 --iterationCount 15 --iterationTime 250 \
    --exporters json >"$log" 2>&1 &
  pid=$!
  # Progress, one line per benchmark, while it runs.
  tail -n +1 -f "$log" --pid "$pid" | grep --line-buffered -E '^// Benchmark: ' | sed -u 's/: Job-[^)]*)//; s#^// Benchmark: #   #'
  wait "$pid"
  status=$?
  set -e
  if [ "$status" -ne 0 ]; then
    echo "BenchmarkDotNet failed (exit $status); see $log" >&2
    exit "$status"
  fi

  echo
  echo "== BenchmarkDotNet summary (in-process; +-99.9% is half the confidence interval)"
  "${bench[@]}" summary "$results/results"
  echo "== load average after BenchmarkDotNet: $(load)"
fi

[ "$process" = 1 ] || exit 0

install_tool() { # command package
  if ! command -v "$1" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing $2 with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1; } || true
  fi
}
install_tool hyperfine hyperfine
[ -x /usr/bin/time ] || install_tool /usr/bin/time time

out="$results/process"
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d /tmp/runtimectl-perf.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== publishing src/RuntimeCtl.Cli (Native AOT), samples/QuickStart (JIT and Native AOT) and an AOT hello world (the floor)"
dotnet publish src/RuntimeCtl.Cli -c Release -o "$work/cli" -nologo -v q -clp:NoSummary
dotnet publish samples/QuickStart -c Release -o "$work/quickstart" -nologo -v q -clp:NoSummary
dotnet publish samples/QuickStart -c Release -r linux-x64 -p:PublishAot=true -o "$work/quickstart-aot" -nologo -v q -clp:NoSummary
mkdir -p "$work/hello"
cat >"$work/hello/hello.csproj" <<'PROJ'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <PublishAot>true</PublishAot>
    <InvariantGlobalization>true</InvariantGlobalization>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
</Project>
PROJ
echo 'System.Console.WriteLine("hello");' >"$work/hello/Program.cs"
dotnet publish "$work/hello/hello.csproj" -c Release -r linux-x64 -o "$work/hello/out" -nologo -v q -clp:NoSummary
cli="$work/cli/runtimectl"
hello="$work/hello/out/hello"
quickstart="$work/quickstart-aot/QuickStart"
quickstart_jit="$work/quickstart/QuickStart"
[ -x "$cli" ] || { echo "no $cli after publishing the CLI" >&2; exit 1; }
echo "   runtimectl: $(stat -c %s "$cli") bytes (target <= 4 MB), runtimectl-web: $(stat -c %s "$work/cli/runtimectl-web") bytes, runtimectl-mcp: $(stat -c %s "$work/cli/runtimectl-mcp") bytes, hello: $(stat -c %s "$hello") bytes"

# The Python original, when RUNTIMECTL_PY_SRC points at its sources (thbuelles/runtimectl, or its src folder).
py=()
if [ -n "${RUNTIMECTL_PY_SRC:-}" ]; then
  pysrc=$RUNTIMECTL_PY_SRC
  [ -d "$pysrc/src/runtimectl" ] && pysrc="$pysrc/src"
  # A file, not -c: hyperfine -N splits its command at spaces.
  printf 'import sys\nfrom runtimectl.cli import main\nsys.exit(main())\n' >"$work/original-cli.py"
  py=(env "PYTHONPATH=$pysrc" python3 "$work/original-cli.py")
fi

table="$out/summary.tsv"
printf 'process-level\truns\tmin\tmedian\tmean\tmax\textra\ttarget\n' >"$table"

ms() { awk -v s="$1" 'BEGIN { printf "%.2f ms", s * 1000 }'; }

# time_command NAME RUNS TARGET COMMAND... : hyperfine (or a loop) over a whole process.
time_command() {
  local name=$1 runs=$2 target=$3 cpu=""
  shift 3
  local csv="$out/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').csv"
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --style none --warmup 5 --runs "$runs" --export-csv "$csv" "$*" >/dev/null
    # command,mean,stddev,median,user,system,min,max (seconds); user and system are means over the runs
    IFS=, read -r _ mean _ median user system min max < <(tail -n 1 "$csv")
    cpu="cpu $(awk -v u="$user" -v s="$system" 'BEGIN { printf "%.2f ms", (u + s) * 1000 }') (user+sys mean)"
  else
    local samples=()
    for ((i = 0; i < runs + 5; i++)); do
      local t0=$EPOCHREALTIME
      "$@" >/dev/null 2>&1
      local t1=$EPOCHREALTIME
      ((i < 5)) || samples+=("$(( ${t1/./} - ${t0/./} ))")
    done
    read -r min median mean max < <(printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 / 1e6; s += v[NR] } END { print v[1], v[int((NR + 1) / 2)], s / NR, v[NR] }')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$runs" "$(ms "$min")" "$(ms "$median")" "$(ms "$mean")" "$(ms "$max")" "$cpu" "$target" >>"$table"
  echo "   $name: min $(ms "$min"), median $(ms "$median") $cpu"
}

echo "== runtimectl enqueue and status (whole process), against an AOT hello world and the original"
time_command "AOT hello world (the floor)" 100 "" "$hello"
"$cli" -q "$work/enqueue" optimizer.lr.multiplier 0.5 >/dev/null
time_command "runtimectl enqueue" 100 "<= 1.6x the hello world, >= 20x the original" "$cli" -q "$work/enqueue" optimizer.lr.multiplier 0.5
if [ ${#py[@]} -gt 0 ]; then
  time_command "original enqueue" 30 "" "${py[@]}" -q "$work/enqueue-py" optimizer.lr.multiplier 0.5
fi
for n in 100000 1000000; do
  "${bench[@]}" fixture status "$work/status$n" "$n"
done
time_command "runtimectl status --last 20, 100k acks" 50 "<= 5 ms" "$cli" -q "$work/status100000" status --last 20
time_command "runtimectl status --last 20, 1M acks" 50 "<= 2x the 100k" "$cli" -q "$work/status1000000" status --last 20
if [ ${#py[@]} -gt 0 ]; then
  time_command "original status --last 20, 100k acks" 10 "" "${py[@]}" -q "$work/status100000" status --last 20
fi

echo "== runtimectl --wait: from the ack written to the CLI's exit"
waitq="$work/wait"
"$cli" -q "$waitq" noop >/dev/null
latencies=()
for ((i = 0; i < 20; i++)); do
  coproc CLI { exec "$cli" -q "$waitq" noop --wait --timeout 10; }
  cli_pid=$CLI_PID
  IFS= read -r line <&"${CLI[0]}"
  [[ $line =~ \"id\":\"([^\"]+)\" ]] || { echo "unexpected first line from runtimectl: $line" >&2; exit 1; }
  id=${BASH_REMATCH[1]}
  sleep 0.3 # the CLI has queued the command and waits for the ack on inotify by now
  t0=$EPOCHREALTIME
  printf '{"id":"%s","ts":1764374400.0,"path":"noop","op":"set","status":"applied","args":[],"kwargs":{}}\n' "$id" >>"$waitq/acks.jsonl"
  wait "$cli_pid" || true
  t1=$EPOCHREALTIME
  latencies+=("$(( ${t1/./} - ${t0/./} ))")
done
read -r min median mean max < <(printf '%s\n' "${latencies[@]}" | sort -n | awk '{ v[NR] = $1 / 1e6; s += v[NR] } END { print v[1], v[int((NR + 1) / 2)], s / NR, v[NR] }')
printf '%s\t%s\t%s\t%s\t%s\t%s\t\t%s\n' "runtimectl --wait, ack written -> exit" 20 "$(ms "$min")" "$(ms "$median")" "$(ms "$mean")" "$(ms "$max")" "<= 5 ms" >>"$table"
echo "   min $(ms "$min"), median $(ms "$median"), max $(ms "$max")"

echo "== QuickStart --once draining a backlog of model.dropout.p 0.5 (wall time and peak RSS, /usr/bin/time -v)"
drain() { # N RUNS TARGET [QUICKSTART [LABEL]]
  local n=$1 runs=$2 target=$3 walls=() cpus=() rss=0 quickstart=${4:-$quickstart} label=${5:-QuickStart --once (AOT)}
  for ((i = 0; i < runs; i++)); do
    rm -rf "$work/drain"
    if [ "$n" -gt 0 ]; then
      "${bench[@]}" fixture backlog "$work/drain" "$n"
    else
      mkdir -m 700 "$work/drain"
    fi
    /usr/bin/time -v -o "$work/time.txt" "$quickstart" --queue "$work/drain" --once >/dev/null
    local acks
    acks=$(wc -l <"$work/drain/acks.jsonl")
    [ "$acks" -eq "$n" ] || { echo "QuickStart wrote $acks acks for $n commands" >&2; exit 1; }
    walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time.txt")")
    cpus+=("$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$work/time.txt")")
    local r
    r=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
    ((r > rss)) && rss=$r
  done
  read -r min median mean max < <(printf '%s\n' "${walls[@]}" | sort -n | awk '{ v[NR] = $1; s += $1 } END { print v[1], v[int((NR + 1) / 2)], s / NR, v[NR] }')
  local extra cpu
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  # Throughput by wall time and by CPU time (user+sys): the second is what a busy machine distorts least.
  extra=$(awk -v n="$n" -v m="$median" -v c="$cpu" -v r="$rss" 'BEGIN { if (n > 0) printf "%.0f cmd/s (%.0f per cpu-s), ", n / m, n / c; printf "cpu %.2f s, peak RSS %.1f MiB", c, r / 1024 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label, $n queued" "$runs" "$(ms "$min")" "$(ms "$median")" "$(ms "$mean")" "$(ms "$max")" "$extra" "$target" >>"$table"
  echo "   $n queued: median $(ms "$median"), $extra"
}
drain 0 3 "(start-up cost)"
drain 100000 3 ">= 10x the original, RSS <= 40 MiB"
drain 1000000 3 "RSS flat (within 10% of 100k, <= 40 MiB)"
drain 100000 1 "(the JIT runtime's own RSS: drain 0 with JIT)" "$quickstart_jit" "QuickStart --once (JIT)"

echo
echo "== process-level summary (runtimectl and QuickStart are Native AOT unless marked JIT; times include process start and exit)"
if command -v column >/dev/null 2>&1; then column -t -s $'\t' "$table"; else tr '\t' '|' <"$table"; fi
echo "== load average at the end: $(load)"
