#!/usr/bin/env bash
# Requests per second of POST /subscribe (form body, a new address each
# request, so every request validates, writes a pending subscriber and
# writes a confirmation mail to the outbox) under wrk, with the per-IP rate
# limit raised. Loopback only; cleans up. Fails if wrk saw any error.
set -euo pipefail
export GOTOOLCHAIN=local
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
DURATION=${DURATION:-20s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18087}
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
go build -o "$tmp/herald" ./cmd/herald
export HERALD_STORE_DSN="$tmp/h.db" HERALD_MAIL_OUTBOX_DIR="$tmp/outbox" HERALD_CONTENT_DIR="$tmp/none" \
  HERALD_HTTP_LISTEN="127.0.0.1:$PORT" HERALD_SITE_BASE_URL="http://127.0.0.1:$PORT" \
  HERALD_SUBSCRIBE_RATE_PER_MINUTE=100000000 HERALD_SUBSCRIBE_DOMAIN_PER_HOUR=0 HERALD_LOG_LEVEL=warn
"$tmp/herald" serve 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
cat > "$tmp/post.lua" <<'LUA'
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
local n = 0
function request()
  n = n + 1
  local body = "email=bench" .. tid .. "-" .. n .. "%40example.org&name=Bench+Person"
  return wrk.format("POST", "/subscribe", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
LUA
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$THREADS -c$CONNS -d$DURATION -s post.lua http://127.0.0.1:$PORT/subscribe"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$tmp/post.lua" "http://127.0.0.1:$PORT/subscribe" | tee "$tmp/wrk.out"
if grep -Eq "Non-2xx|Socket errors" "$tmp/wrk.out"; then echo "FAIL: errors during the run"; exit 1; fi
echo "confirmation mails written: $(ls "$tmp/outbox" | grep -c "\.eml$")"
