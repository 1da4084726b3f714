#!/bin/sh
# Live tests: run on the prodlike network against the deployed app, found by its plain service name
# through DNS (APP_URL, default http://hello-app:8080). Safe to run against production at any time:
# they only read pages and count hits. The prodlike redis starts from a snapshot of production
# data (hits = 1000), so the count must be above 1000.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
APP_URL=${APP_URL:-http://hello-app:8080}
host=${APP_URL#*://}
host=${host%%/*}
host=${host%:*}

answer=$(nslookup "$host" 2>&1)
addr=$(printf '%s\n' "$answer" | sed -n '/^Name:/,$s/^Address:* *\([0-9.]*\).*/\1/p' | head -n 1)
if [ -n "$addr" ]; then ok "$host resolves to $addr"; else fail "$host resolves: [$answer]"; fi
check "/healthz is ok" ok "$(get /healthz)"
case $(get /) in
  *"<h1>Hello from slipway</h1>"*) ok "the page is served" ;;
  *) fail "the page is served" ;;
esac
hits=$(get /cgi-bin/hits)
n=${hits#hits }
if is_number "$n" && [ "$n" -gt 1000 ]; then
  ok "/cgi-bin/hits counts on from the production data: $hits"
else
  fail "/cgi-bin/hits counts on from the production data (> 1000): got [$hits]:" \
    "$(why /cgi-bin/hits)"
fi
finish
