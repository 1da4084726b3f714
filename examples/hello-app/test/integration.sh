#!/bin/sh
# Integration tests: run next to the app, in its network namespace (APP_URL, default
# http://127.0.0.1:8080), with redis reachable from the app. Nothing to wait for: the pipeline
# starts this once the app is ready.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
APP_URL=${APP_URL:-http://127.0.0.1:8080}
version=${APP_VERSION:-$(cat "$here/VERSION" 2>/dev/null)}

page=$(get /)
case $page in
  *"<h1>Hello from slipway</h1>"*) ok "the page is served" ;;
  *) fail "the page is served: got [$page]" ;;
esac
case $page in
  *"version $version<"*) ok "the page shows version $version" ;;
  *) fail "the page shows version [$version]: got [$page]" ;;
esac
check "/healthz is ok" ok "$(get /healthz)"
first=$(get /cgi-bin/hits)
second=$(get /cgi-bin/hits)
n1=${first#hits }
n2=${second#hits }
if is_number "$n1" && is_number "$n2" && [ "$n2" -gt "$n1" ]; then
  ok "/cgi-bin/hits counts: $first, then $second"
else
  fail "/cgi-bin/hits counts: got [$first], then [$second]: $(why /cgi-bin/hits)"
fi
get /no-such-page >/dev/null; check "an unknown page is an error" 1 $?
finish
