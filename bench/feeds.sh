#!/usr/bin/env bash
# bench/feeds.sh: Herald's cached feed, with wrk on loopback, side by side
# (alternating, three rounds, medians):
#   Herald alone (the daemon's stack, access log on) against a bare
#     net/http handler writing the same bytes: target >= 0.9 ×
#   As deployed: deploy/nginx.conf (micro-cache) in front of Herald,
#     against nginx serving the same bytes from a file: target >= 0.95 ×
#   Herald 304 against Herald full: target >= 2 ×
# Usage: bench/feeds.sh [duration, default 10s]
#   FRONT_CONF=old-nginx.conf bench/feeds.sh   # another front config
#   BEFORE=3099e01 bench/feeds.sh   # also Herald at that revision, and its
#                                   # deploy/nginx.conf in front of it, alternating
# Needs: go, nginx (Debian nginx-light), wrk, curl. Only loopback addresses.
set -euo pipefail
export GOTOOLCHAIN=local

DURATION=${1:-10s}
ROUNDS=3
cd "$(dirname "$0")/.."

for tool in go nginx wrk curl; do
	command -v "$tool" >/dev/null || { echo "feeds.sh: $tool not found (apt-get install -y nginx-light wrk curl)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/herald-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	[[ -s "$work/herald/front/nginx.pid" ]] && kill "$(cat "$work/herald/front/nginx.pid")" 2>/dev/null || true
	[[ -s "$work/before/front/nginx.pid" ]] && kill "$(cat "$work/before/front/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
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

wait_http() { # url
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "feeds.sh: $1 did not come up" >&2
	return 1
}

echo "== building bench/feedserver"
go build -o "$work/feedserver" ./bench/feedserver
if [[ -n "${BEFORE:-}" ]]; then
	echo "== building bench/feedserver at $BEFORE"
	mkdir "$work/before-src"
	git archive "$BEFORE" | tar -x -C "$work/before-src"
	(cd "$work/before-src" && go build -o "$work/feedserver-before" ./bench/feedserver)
fi

mkdir -p "$work/herald" "$work/bare" "$work/www" "$work/nginx"
fport=$(free_port)
"$work/feedserver" -addr "127.0.0.1:$(free_port)" -out "$work/herald" \
	-front-conf "${FRONT_CONF:-deploy/nginx.conf}" -front-listen "127.0.0.1:$fport" &
pids+=($!)
"$work/feedserver" -bare -addr "127.0.0.1:$(free_port)" -out "$work/bare" &
pids+=($!)
if [[ -n "${BEFORE:-}" ]]; then
	mkdir -p "$work/before"
	bport=$(free_port)
	"$work/feedserver-before" -addr "127.0.0.1:$(free_port)" -out "$work/before" \
		-front-conf "$work/before-src/deploy/nginx.conf" -front-listen "127.0.0.1:$bport" &
	pids+=($!)
	for _ in $(seq 100); do [[ -s "$work/before/addr" ]] && break; sleep 0.1; done
fi
for _ in $(seq 100); do [[ -s "$work/herald/addr" && -s "$work/bare/addr" ]] && break; sleep 0.1; done
herald="http://$(cat "$work/herald/addr")/feed.atom"
bare="http://$(cat "$work/bare/addr")/feed.atom"
wait_http "$herald"
wait_http "$bare"
etag=$(cat "$work/herald/etag")
# deploy/nginx.conf in front of Herald, templated for loopback.
nginx -p "$work/herald/front" -e "$work/herald/front/error.log" -c "$work/herald/front/nginx.conf" &
pids+=($!)
front="http://127.0.0.1:$fport/feed.atom"
wait_http "$front"
if [[ -n "${BEFORE:-}" ]]; then
	before="http://$(cat "$work/before/addr")/feed.atom"
	nginx -p "$work/before/front" -e "$work/before/front/error.log" -c "$work/before/front/nginx.conf" &
	pids+=($!)
	bfront="http://127.0.0.1:$bport/feed.atom"
	wait_http "$before"
	wait_http "$bfront"
fi
cp "$work/herald/feed.atom" "$work/www/feed.atom"
chmod 644 "$work/www/feed.atom"

nport=$(free_port)
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
daemon off;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path $work/nginx/tmp;
	proxy_temp_path $work/nginx/tmp;
	fastcgi_temp_path $work/nginx/tmp;
	uwsgi_temp_path $work/nginx/tmp;
	scgi_temp_path $work/nginx/tmp;
	types { application/atom+xml atom; }
	charset utf-8;
	charset_types application/atom+xml;
	server {
		listen 127.0.0.1:$nport;
		root $work/www;
	}
}
CONF
nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" &
pids+=($!)
nginx_url="http://127.0.0.1:$nport/feed.atom"
wait_http "$nginx_url"

# Same bytes, same content type? (bare and the front serve bench dbs
# written at the same second: compare Herald's bytes with each.)
cmp -s <(curl -fsS "$herald") <(curl -fsS "$nginx_url") || { echo "feeds.sh: bodies differ" >&2; exit 1; }
cmp -s <(curl -fsS "$herald") <(curl -fsS "$front") || { echo "feeds.sh: front body differs" >&2; exit 1; }
[[ $(wc -c <"$work/bare/feed.atom") == $(wc -c <"$work/herald/feed.atom") ]] || { echo "feeds.sh: bare size differs" >&2; exit 1; }
echo "bare:   $(curl -fsSI "$bare" | grep -i '^content-type' | tr -d '\r')"
echo "front:  $(curl -fsSI "$front" | grep -i -e '^content-type' -e '^x-cache-status' | tr -d '\r' | paste -sd' ')"
echo "herald: $(curl -fsSI "$herald" | grep -i '^content-type' | tr -d '\r')"
echo "nginx:  $(curl -fsSI "$nginx_url" | grep -i '^content-type' | tr -d '\r')"
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$herald") == 304 ]] || { echo "feeds.sh: no 304 for $etag" >&2; exit 1; }

rps() { # wrk args... → requests/sec
	wrk -t2 -c64 -d"$DURATION" "$@" | awk '/^Requests\/sec:/ {print $2}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
nginx_r=() herald_r=() h304_r=() bare_r=() front_r=() before_r=() bfront_r=()
for i in $(seq "$ROUNDS"); do
	bare_r+=("$(rps "$bare")");         echo "round $i bare net/http ${bare_r[-1]} req/s"
	if [[ -n "${BEFORE:-}" ]]; then
		before_r+=("$(rps "$before")"); echo "round $i herald before ${before_r[-1]} req/s"
	fi
	herald_r+=("$(rps "$herald")");     echo "round $i herald full   ${herald_r[-1]} req/s"
done
for i in $(seq "$ROUNDS"); do
	nginx_r+=("$(rps "$nginx_url")");   echo "round $i nginx file    ${nginx_r[-1]} req/s"
	if [[ -n "${BEFORE:-}" ]]; then
		bfront_r+=("$(rps "$bfront")"); echo "round $i nginx+before  ${bfront_r[-1]} req/s"
	fi
	front_r+=("$(rps "$front")");       echo "round $i nginx+herald  ${front_r[-1]} req/s"
done
for i in $(seq "$ROUNDS"); do
	h304_r+=("$(rps -H "If-None-Match: $etag" "$herald")"); echo "round $i herald 304   ${h304_r[-1]} req/s"
done

n=$(median "${nginx_r[@]}") h=$(median "${herald_r[@]}") c=$(median "${h304_r[@]}")
b=$(median "${bare_r[@]}") f=$(median "${front_r[@]}")
size=$(wc -c <"$work/www/feed.atom")
echo
echo "feed.atom: $size bytes, wrk -t2 -c64 -d$DURATION, $ROUNDS rounds, medians:"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{print a/b}'; }
printf '  bare net/http      %12.0f req/s\n' "$b"
printf '  herald full        %12.0f req/s   %.2f × bare net/http (target >= 0.9)\n' "$h" "$(ratio "$h" "$b")"
printf '  nginx (sendfile)   %12.0f req/s   herald %.2f × nginx\n' "$n" "$(ratio "$h" "$n")"
printf '  nginx+herald       %12.0f req/s   %.2f × nginx (target >= 0.95)\n' "$f" "$(ratio "$f" "$n")"
printf '  herald 304         %12.0f req/s   %.2f × herald full (target >= 2)\n' "$c" "$(ratio "$c" "$h")"
if [[ -n "${BEFORE:-}" ]]; then
	hb=$(median "${before_r[@]}") fb=$(median "${bfront_r[@]}")
	printf '  herald at %-8s %12.0f req/s   %.2f × bare net/http\n' "$BEFORE" "$hb" "$(ratio "$hb" "$b")"
	printf '  nginx+herald at %-8s %6.0f req/s   %.2f × nginx\n' "$BEFORE" "$fb" "$(ratio "$fb" "$n")"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
