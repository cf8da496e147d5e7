#!/usr/bin/env bash
# CSV import rate: `herald subscribers import --confirmed` of N rows
# (default 100,000) into a fresh SQLite store, timed twice (the second
# run is the idempotent re-import). Loopback only; cleans up.
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."
ROWS=${ROWS:-100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/herald" ./cmd/herald
awk -v n="$ROWS" 'BEGIN {
  print "email,name,newsletters,tags,status,subscribed_at"
  for (i = 0; i < n; i++) printf "person%d@example%d.org,Person %d,monthly,wp%d;training,,2025-06-01T09:00:00Z\n", i, i % 100, i, i % 7
}' > "$tmp/people.csv"
# The rows' topic tags must be known (an article's or a newsletter's).
cat > "$tmp/herald.yaml" <<'YAML'
newsletters:
  - id: monthly
    title: Bench Monthly
    default: true
    schedule: "0 9 1 * *"
    timezone: UTC
    max_articles: 20
    tags: [wp0, wp1, wp2, wp3, wp4, wp5, wp6, training]
YAML
export HERALD_CONFIG="$tmp/herald.yaml" HERALD_STORE_DSN="$tmp/h.db" HERALD_MAIL_OUTBOX_DIR="$tmp/outbox" HERALD_CONTENT_DIR="$tmp/none"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in first re-import; do
  start=$(date +%s.%N)
  /usr/bin/time -f "  cpu: %U s user, %S s sys, max RSS %M KB" "$tmp/herald" subscribers import --confirmed "$tmp/people.csv"
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v n="$ROWS" -v r="$run" 'BEGIN { printf "%s: %d rows in %.2f s wall = %.0f rows/s\n", r, n, e - s, n / (e - s) }'
done
"$tmp/herald" subscribers list --status active | wc -l | awk '{ print "active subscribers stored:", $1 }'
