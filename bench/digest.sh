#!/usr/bin/env bash
# Digest delivery benchmark (BENCHMARKS.md "Digest"): postfix's
# smtp-sink receives; smtp-source sends messages the size of Herald's
# digest over 10 connections kept open (-d, as Herald keeps its
# connections); Herald delivers a run to N subscribers over 10 connections
# to the same sink, personalising every message and recording every
# outcome. RUNS rounds (3), each running both in turn. Prints the medians,
# the ratio, and Herald's peak RSS. Loopback only; cleans up after itself.
#
#   bench/digest.sh                 # N=100000
#   N=1000000 RUNS=1 SKIP_SOURCE=1 bench/digest.sh  # the memory run
#   PROFILE=/tmp/prof bench/digest.sh  # also write herald.N.pprof there (go tool pprof)
#   DKIM=rsa bench/digest.sh        # sign every message (rsa: RSA-2048, or ed25519)
#   VERP=1 bench/digest.sh          # VERP envelope senders (mail.bounce.domain)
#   BEFORE=3099e01 bench/digest.sh  # also Herald at that revision, alternating
set -euo pipefail
export GOTOOLCHAIN=local
N=${N:-100000}
RUNS=${RUNS:-3}
CONNS=10
PORT=${PORT:-25251}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
SINK_PID=""
cleanup() {
	if [[ -n "$SINK_PID" ]]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

for p in smtp-sink smtp-source; do
	command -v "$p" >/dev/null || { echo "$p is missing: apt-get install postfix" >&2; exit 1; }
done

echo "building herald" >&2
(cd "$ROOT" && go build -o "$WORK/herald" ./cmd/herald && go build -o "$WORK/seed" ./bench/seed)
if [[ -n "${BEFORE:-}" ]]; then
	# The same script with Herald at another revision in every round.
	echo "building herald at $BEFORE" >&2
	mkdir "$WORK/before-src"
	git -C "$ROOT" archive "$BEFORE" | tar -x -C "$WORK/before-src"
	(cd "$WORK/before-src" && go build -o "$WORK/herald-before" ./cmd/herald)
fi

# smtp-sink refuses to run as root without -u.
SINK_USER=()
if [[ $(id -u) == 0 ]]; then SINK_USER=(-u nobody); fi
smtp-sink "${SINK_USER[@]}" 127.0.0.1:$PORT 256 &
SINK_PID=$!
sleep 0.5

MAILX=""
case "${DKIM:-}" in
"") ;;
rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/dkim.pem" 2>/dev/null ;;
ed25519) openssl genpkey -algorithm ed25519 -out "$WORK/dkim.pem" ;;
*) echo "DKIM=$DKIM: want rsa or ed25519" >&2; exit 2 ;;
esac
if [[ -n "${DKIM:-}" ]]; then MAILX+="  dkim: {domain: example.org, selector: bench, key_file: $WORK/dkim.pem}"$'\n'; fi
if [[ -n "${VERP:-}" ]]; then MAILX+="  bounce: {domain: bounces.example.org}"$'\n'; fi

cat >"$WORK/config.yaml" <<YAML
store: {dsn: $WORK/h.db}
content: {dir: $ROOT/examples/articles, watch: false}
mail:
  transport: smtp
  from: "Herald News <news@example.org>"
  smtp: {host: 127.0.0.1, port: $PORT, tls: none, connections: $CONNS, timeout: 30s}
${MAILX}log: {level: warn}
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

"$WORK/herald" --config "$WORK/config.yaml" import "$ROOT/examples/articles" >/dev/null
"$WORK/seed" -db "$WORK/h.db" -n "$N"
# Every run starts from this copy: a run moves the newsletter's window, so
# without it the second and third runs would send fewer articles, a
# smaller message than the first and than smtp-source's.
mkdir "$WORK/seeded" && cp "$WORK"/h.db* "$WORK/seeded/"

# The size of one personalised digest: a test send to the outbox.
sed "s|transport: smtp|transport: outbox\n  outbox_dir: $WORK/outbox|" "$WORK/config.yaml" >"$WORK/outbox.yaml"
"$WORK/herald" --config "$WORK/outbox.yaml" digest send --newsletter monthly --test-to size@bench.example >/dev/null
SIZE=$(stat -c %s "$WORK"/outbox/*.eml | head -1)
echo "digest message: $SIZE bytes; $N recipients; $CONNS connections; $(nproc) cores; DKIM ${DKIM:-off}; VERP ${VERP:-off}; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

src=() her=() rss=() bef=() brss=()
# herald_run BIN LABEL ROUND: one delivery from a fresh copy of the seeded
# store; sets R (msg/s) and M (peak RSS, KiB).
herald_run() {
	local prof=()
	if [[ -n "${PROFILE:-}" ]]; then mkdir -p "$PROFILE"; prof=(--cpuprofile "$PROFILE/$2.$3.pprof"); fi
	rm -f "$WORK"/h.db*
	cp "$WORK"/seeded/h.db* "$WORK/"
	local t0 t1
	t0=$(now)
	/usr/bin/time -f '%M' -o "$WORK/rss" "$1" --config "$WORK/config.yaml" digest send --newsletter monthly --now "${prof[@]}" >"$WORK/send.log"
	t1=$(now)
	grep -q "done: $N sent" "$WORK/send.log" || { cat "$WORK/send.log" >&2; echo "not every message was sent" >&2; exit 1; }
	R=$(echo "$N / ($t1 - $t0)" | bc -l)
	M=$(cat "$WORK/rss")
	printf '%s run %d: %.0f msg/s, peak RSS %d KiB\n' "$2" "$3" "$R" "$M" >&2
}

# Rounds alternate the senders, so a change in the machine's load
# touches them alike.
for i in $(seq "$RUNS"); do
	if [[ -z "${SKIP_SOURCE:-}" ]]; then
		t0=$(now)
		# -d: many messages per connection, as Herald sends. Without it
		# smtp-source opens a connection per message, a baseline about half
		# as fast that made Herald's ratio look twice as good.
		smtp-source -d -s $CONNS -m "$N" -l "$SIZE" -f news@example.org -t reader@bench.example 127.0.0.1:$PORT
		t1=$(now)
		r=$(echo "$N / ($t1 - $t0)" | bc -l)
		src+=("$r")
		printf 'smtp-source run %d: %.0f msg/s\n' "$i" "$r" >&2
	fi
	if [[ -n "${BEFORE:-}" ]]; then
		herald_run "$WORK/herald-before" before "$i"
		bef+=("$R") brss+=("$M")
	fi
	herald_run "$WORK/herald" herald "$i"
	her+=("$R") rss+=("$M")
done
if [[ ${#src[@]} == 0 ]]; then src=(0); fi

S=$(printf '%s\n' "${src[@]}" | median)
H=$(printf '%s\n' "${her[@]}" | median)
R=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
printf 'herald median:      %.0f msg/s (plan, personalise, send, record)\nherald peak RSS:    %.1f MiB\n' "$H" "$(echo "$R / 1024" | bc -l)"
if [[ "$S" != 0 ]]; then
	printf 'smtp-source median: %.0f msg/s\nratio:              %.2f\n' "$S" "$(echo "$H / $S" | bc -l)"
fi
if [[ -n "${BEFORE:-}" ]]; then
	B=$(printf '%s\n' "${bef[@]}" | median)
	printf 'before (%s) median: %.0f msg/s, peak RSS %.1f MiB; herald / before: %.2f\n' "$BEFORE" "$B" \
		"$(echo "$(printf '%s\n' "${brss[@]}" | sort -n | tail -1) / 1024" | bc -l)" "$(echo "$H / $B" | bc -l)"
	if [[ "$S" != 0 ]]; then printf 'before / smtp-source: %.2f\n' "$(echo "$B / $S" | bc -l)"; fi
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
