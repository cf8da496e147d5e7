#!/usr/bin/env bash
# The timing gap of POST /subscribe between a new and a known address
# (timing must not tell known from unknown). Runs the Go benchmark
# BenchmarkSubscribeAnswer (Subscribe up to its answer, as serve runs it,
# on real SQLite) COUNT times and prints the medians of its metrics:
# time to answer a known and a new address, and their gap.
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
out=$(go test -run '^$' -bench BenchmarkSubscribeAnswer -count "$COUNT" ./internal/subscribe/)
echo "$out" | grep '^Benchmark'
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2 }'; }
for unit in known-ns/answer new-ns/answer gap-ns; do
  m=$(echo "$out" | awk -v u="$unit" '/^BenchmarkSubscribeAnswer/ { for (i = 1; i < NF; i++) if ($(i+1) == u) print $i }' | median)
  echo "median $unit: $m"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
