#!/usr/bin/env bash
# bench/widget.sh: requests/second for what a partner page's widget asks
# Herald for: the feed JSON it reads (/feed.json?tags=…&limit=5, from the
# feed cache) in full, gzipped (as browsers ask) and revalidated (304), and
# the loader /embed.js. Starts the herald binary on a temporary store with
# the example articles, on loopback only; wrk -t2 -c64 -d10s, three runs
# each, prints the medians. Cleans up after itself.
# Usage: bench/widget.sh [duration, default 10s]
# Needs: go, wrk, curl (apt-get install -y wrk curl).
set -euo pipefail
export GOTOOLCHAIN=local

DURATION=${1:-10s}
RUNS=3
TAGS=wp2
cd "$(dirname "$0")/.."

for tool in go wrk curl; do
	command -v "$tool" >/dev/null || { echo "widget.sh: $tool not found (apt-get install -y wrk curl)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/herald-widget-bench.XXXXXX)
pid=""
cleanup() {
	if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	local p
	while :; do
		p=$(shuf -i 20000-60000 -n 1)
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

echo "== building herald"
go build -o "$work/herald" ./cmd/herald

port=$(free_port)
base="http://127.0.0.1:$port"
: >"$work/config.yaml" # empty: the built-in defaults, overridden below
HERALD_CONFIG="$work/config.yaml" \
HERALD_HTTP_LISTEN="127.0.0.1:$port" \
HERALD_SITE_BASE_URL="$base" \
HERALD_STORE_DSN="$work/herald.db" \
HERALD_CONTENT_DIR="$PWD/examples/articles" \
HERALD_CONTENT_WATCH=false \
HERALD_MAIL_OUTBOX_DIR="$work/outbox" \
HERALD_LOG_LEVEL=warn \
	"$work/herald" serve >"$work/herald.log" 2>&1 &
pid=$!

url="$base/feed.json?tags=$TAGS&limit=5"
for _ in $(seq 100); do
	curl -fsS -o /dev/null "$url" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/herald.log" >&2; echo "widget.sh: herald exited" >&2; exit 1; }
	sleep 0.1
done
curl -fsS -o /dev/null "$url" || { cat "$work/herald.log" >&2; exit 1; }

items=$(curl -fsS "$url" | grep -o '"date_published"' | wc -l)
size=$(curl -fsS "$url" | wc -c)
gzsize=$(curl -fsS -H 'Accept-Encoding: gzip' "$url" | wc -c)
etag=$(curl -fsSI "$url" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
etaggz=$(curl -fsSI -H 'Accept-Encoding: gzip' "$url" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etaggz" -H 'Accept-Encoding: gzip' "$url") == 304 ]] ||
	{ echo "widget.sh: no 304 for $etaggz" >&2; exit 1; }
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Origin: https://partner.example" "$url") == 200 ]]
acao=$(curl -fsSI -H "Origin: https://partner.example" "$url" | awk 'tolower($1)=="access-control-allow-origin:" {print $2}' | tr -d '\r')
echo "widget feed: $url"
echo "  $items items, $size bytes ($gzsize gzipped), ETag $etag, Access-Control-Allow-Origin: $acao"

rps() { # wrk args... → requests/sec
	wrk -t2 -c64 -d"$DURATION" "$@" | awk '/^Requests\/sec:/ {print $2}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

full=() gz=() nm=() ld=()
for i in $(seq "$RUNS"); do
	full+=("$(rps "$url")")
	gz+=("$(rps -H 'Accept-Encoding: gzip' "$url")")
	nm+=("$(rps -H 'Accept-Encoding: gzip' -H "If-None-Match: $etaggz" "$url")")
	ld+=("$(rps -H 'Accept-Encoding: gzip' "$base/embed.js")")
	echo "run $i: full ${full[-1]}  gzip ${gz[-1]}  304 ${nm[-1]}  embed.js ${ld[-1]} req/s"
done

echo
echo "wrk -t2 -c64 -d$DURATION, $RUNS runs, medians (req/s):"
printf '  /feed.json?tags=%s&limit=5  identity  %10.0f\n' "$TAGS" "$(median "${full[@]}")"
printf '  /feed.json?tags=%s&limit=5  gzip      %10.0f\n' "$TAGS" "$(median "${gz[@]}")"
printf '  /feed.json?tags=%s&limit=5  304       %10.0f\n' "$TAGS" "$(median "${nm[@]}")"
printf '  /embed.js                   gzip      %10.0f\n' "$(median "${ld[@]}")"
