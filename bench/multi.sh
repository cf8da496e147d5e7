#!/usr/bin/env bash
# Several instances on PostgreSQL (BENCHMARKS.md "Several instances"), side
# by side in one run: postfix's smtp-sink receives; Herald delivers a run to
# N subscribers over 10 connections per instance, alternating, RUNS rounds:
#   sqlite  `herald digest send --now` on SQLite
#   pg1     the same on PostgreSQL
#   pg2     the same on PostgreSQL with a second instance (`herald serve`,
#           started first) taking part through the same leases
# Each figure is N / wall time from the sender's start to the run being
# done (planning, personalising, sending, recording). Then planning
# 1,000,000 deliveries and a 20-item feed from 100,000 articles on
# PostgreSQL (Go benchmarks), unless SKIP_GO=1. Peak RSS of every instance
# is printed (/usr/bin/time for the sender, VmHWM for serve).
#
#   bench/multi.sh                              # N=100000 RUNS=3
#   N=1000000 RUNS=1 ONLY=pg2 SKIP_GO=1 bench/multi.sh   # the memory run
#
# Needs smtp-sink, psql and a PostgreSQL server whose role may create
# databases: HERALD_TEST_POSTGRES_DSN (default: .ci/postgres.sh's server).
set -euo pipefail
export GOTOOLCHAIN=local
N=${N:-100000}
RUNS=${RUNS:-3}
ONLY=${ONLY:-sqlite pg1 pg2}
CONNS=10
PORT=${PORT:-25252}
ADMIN=${HERALD_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable}
export HERALD_TEST_POSTGRES_DSN=$ADMIN
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
DB=herald_bench_$$
PGDSN=$(echo "$ADMIN" | sed -E "s#/[^/?]*(\?|$)#/$DB\1#")
SINK_PID=""
B_PID=""
cleanup() {
	for p in $B_PID $SINK_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

for p in smtp-sink psql; do
	command -v "$p" >/dev/null || { echo "$p is missing (apt-get install postfix postgresql-client)" >&2; exit 1; }
done

echo "building herald" >&2
(cd "$ROOT" && go build -o "$WORK/herald" ./cmd/herald && go build -o "$WORK/seed" ./bench/seed)

SINK_USER=()
if [[ $(id -u) == 0 ]]; then SINK_USER=(-u nobody); fi
smtp-sink "${SINK_USER[@]}" 127.0.0.1:$PORT 256 &
SINK_PID=$!
psql -q "$ADMIN" -c "CREATE DATABASE $DB" >/dev/null

config() { # config NAME STORE-LINES LISTEN
	cat >"$WORK/$1.yaml" <<YAML
site: {base_url: "https://news.example.org"}
http: {listen: "$3"}
$2
content: {dir: $ROOT/examples/articles, watch: false}
mail:
  transport: smtp
  from: "Herald News <news@example.org>"
  smtp: {host: 127.0.0.1, port: $PORT, tls: none, connections: $CONNS, timeout: 30s}
log: {level: warn, access: false}
newsletters:
  - id: monthly
    title: Cluster Bridge Monthly
    schedule: "0 9 1 * *"
    timezone: Europe/Stockholm
    max_articles: 3
    send_if_empty: true
    first_window: 36500d
    subject: "{{.Newsletter.Title}} — {{.Period}}"
YAML
}
config sqlite "store: {dsn: $WORK/h.db}" 127.0.0.1:18091
config pga "store: {driver: postgres, dsn: \"$PGDSN\"}" 127.0.0.1:18092
config pgb "store: {driver: postgres, dsn: \"$PGDSN\"}" 127.0.0.1:18093

"$WORK/herald" --config "$WORK/sqlite.yaml" import "$ROOT/examples/articles" >/dev/null
"$WORK/seed" -db "$WORK/h.db" -n "$N"
"$WORK/herald" --config "$WORK/pga.yaml" import "$ROOT/examples/articles" >/dev/null
psql -q "$PGDSN" <<SQL
INSERT INTO subscribers (email, name, status, created_at, updated_at, confirmed_at)
  SELECT 'reader' || g || '@bench.example', 'Reader ' || g, 'active', 0, 0, 0 FROM generate_series(1, $N) g;
INSERT INTO subscriptions (newsletter, subscriber_id, created_at) SELECT 'monthly', id, 0 FROM subscribers;
ANALYZE;
SQL
echo "$N recipients; $CONNS connections per instance; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A rates rss
latest() { # status of the latest run
	if [[ $1 == sqlite ]]; then
		"$WORK/herald" --config "$WORK/sqlite.yaml" digest status | awk 'NR==2 {print}'
	else
		psql -qtA "$PGDSN" -c "SELECT status || ' ' || (SELECT COUNT(*) FROM digest_deliveries d WHERE d.run_id = r.id AND d.status = 'sent') FROM digest_runs r ORDER BY id DESC LIMIT 1"
	fi
}

for i in $(seq "$RUNS"); do
	for mode in $ONLY; do
		cfg=pga
		[[ $mode == sqlite ]] && cfg=sqlite
		if [[ $mode == pg2 ]]; then
			"$WORK/herald" --config "$WORK/pgb.yaml" serve 2>"$WORK/b.log" &
			B_PID=$!
			until curl -fs http://127.0.0.1:18093/healthz >/dev/null; do sleep 0.1; done
		fi
		t0=$(now)
		/usr/bin/time -f '%M' -o "$WORK/rss" "$WORK/herald" --config "$WORK/$cfg.yaml" digest send --newsletter monthly --now >"$WORK/send.log" 2>&1 ||
			{ cat "$WORK/send.log" >&2; exit 1; }
		t1=$(now)
		extra=""
		if [[ $mode == pg2 ]]; then
			brss=$(awk '/VmHWM/ {print $2}' "/proc/$B_PID/status")
			kill -TERM "$B_PID"; wait "$B_PID" || true; B_PID=""
			extra=", second instance peak RSS $brss KiB"
			rss[pg2b]="${rss[pg2b]:-} $brss"
		fi
		st=$(latest "$mode")
		[[ $mode == sqlite ]] || [[ $st == "done $N" ]] || { echo "$mode: latest run $st, want done $N" >&2; cat "$WORK/send.log" >&2; exit 1; }
		r=$(echo "$N / ($t1 - $t0)" | bc -l)
		rates[$mode]="${rates[$mode]:-} $r"
		rss[$mode]="${rss[$mode]:-} $(cat "$WORK/rss")"
		printf '%-6s run %d: %.0f msg/s, peak RSS %d KiB%s\n' "$mode" "$i" "$r" "$(cat "$WORK/rss")" "$extra" >&2
	done
done

for mode in $ONLY; do
	m=$(printf '%s\n' ${rates[$mode]} | median)
	peak=$(printf '%s\n' ${rss[$mode]} | sort -n | tail -1)
	printf '%-6s median %.0f msg/s (runs:%s), peak RSS %.1f MiB\n' "$mode" "$m" "$(printf ' %.0f' ${rates[$mode]})" "$(echo "$peak / 1024" | bc -l)"
	declare "med_$mode=$m"
done
if [[ -n ${rss[pg2b]:-} ]]; then
	printf 'pg2    second instance peak RSS %.1f MiB\n' "$(echo "$(printf '%s\n' ${rss[pg2b]} | sort -n | tail -1) / 1024" | bc -l)"
fi
if [[ -n ${med_sqlite:-} && -n ${med_pg1:-} ]]; then printf 'pg1 / sqlite: %.2f (target >= 0.8)\n' "$(echo "$med_pg1 / $med_sqlite" | bc -l)"; fi
if [[ -n ${med_pg1:-} && -n ${med_pg2:-} ]]; then printf 'pg2 / pg1:    %.2f (target >= 0.95)\n' "$(echo "$med_pg2 / $med_pg1" | bc -l)"; fi

if [[ -z ${SKIP_GO:-} ]]; then
	cd "$ROOT"
	go test -run '^$' -bench PlanDeliveries -benchtime 2x ./internal/store/postgres/
	go test -run '^$' -bench 'Query100kPostgres' -benchmem ./feed/
fi
