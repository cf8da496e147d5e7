#!/usr/bin/env bash
# bench/feeds.sh: Herald's cached feed handler against nginx serving the
# same bytes from a file (sendfile on), with wrk on loopback.
#   Herald full  >= 0.85 × nginx       Herald 304 >= 2 × Herald full
# Usage: bench/feeds.sh [duration, default 10s]
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

mkdir -p "$work/herald" "$work/www" "$work/nginx"
"$work/feedserver" -addr "127.0.0.1:$(free_port)" -out "$work/herald" &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/herald/addr" ]] && break; sleep 0.1; done
herald="http://$(cat "$work/herald/addr")/feed.atom"
wait_http "$herald"
etag=$(cat "$work/herald/etag")
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

# Same bytes, same content type?
cmp -s <(curl -fsS "$herald") <(curl -fsS "$nginx_url") || { echo "feeds.sh: bodies differ" >&2; exit 1; }
echo "herald: $(curl -fsSI "$herald" | grep -i '^content-type' | tr -d '\r')"
echo "nginx:  $(curl -fsSI "$nginx_url" | grep -i '^content-type' | tr -d '\r')"
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$herald") == 304 ]] || { echo "feeds.sh: no 304 for $etag" >&2; exit 1; }

rps() { # wrk args... → requests/sec
	wrk -t2 -c64 -d"$DURATION" "$@" | awk '/^Requests\/sec:/ {print $2}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

nginx_r=() herald_r=() h304_r=()
for i in $(seq "$ROUNDS"); do
	nginx_r+=("$(rps "$nginx_url")");   echo "round $i nginx        ${nginx_r[-1]} req/s"
	herald_r+=("$(rps "$herald")");     echo "round $i herald full  ${herald_r[-1]} req/s"
done
for i in $(seq "$ROUNDS"); do
	h304_r+=("$(rps -H "If-None-Match: $etag" "$herald")"); echo "round $i herald 304   ${h304_r[-1]} req/s"
done

n=$(median "${nginx_r[@]}") h=$(median "${herald_r[@]}") c=$(median "${h304_r[@]}")
size=$(wc -c <"$work/www/feed.atom")
echo
echo "feed.atom: $size bytes, wrk -t2 -c64 -d$DURATION, $ROUNDS rounds, medians:"
printf '  nginx (sendfile)   %12.0f req/s\n' "$n"
printf '  herald full        %12.0f req/s   %.2f × nginx   (target >= 0.85)\n' "$h" "$(awk -v a="$h" -v b="$n" 'BEGIN{print a/b}')"
printf '  herald 304         %12.0f req/s   %.2f × herald full (target >= 2)\n' "$c" "$(awk -v a="$c" -v b="$h" 'BEGIN{print a/b}')"
