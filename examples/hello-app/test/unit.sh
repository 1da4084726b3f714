#!/bin/sh
# Unit tests: bin/render, and the hits CGI run directly (CGI environment set by hand) against the
# empty test redis at $REDIS_HOST:$REDIS_PORT (default 127.0.0.1:6379). Only the test's own key is
# written and it is deleted at the end.
# usage: unit.sh [--offline]   --offline: only what needs no redis (the image build runs this).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
offline=false
[ "${1:-}" = --offline ] && offline=true
cgi=$here/www/cgi-bin/hits
key=hello-app:unit-test:hits
cr=$(printf '\r')

# --- bin/render ----------------------------------------------------------------------------
check "fills in the version" "v1.2" "$(echo 'v@VERSION@' | sh "$here/bin/render" 1.2)"
check "every occurrence" "1-1" "$(echo '@VERSION@-@VERSION@' | sh "$here/bin/render" 1)"
check "leaves other text" "plain" "$(echo plain | sh "$here/bin/render" 3)"
sh "$here/bin/render" '' </dev/null 2>/dev/null; check "rejects an empty version" 2 $?
sh "$here/bin/render" 'a/b' </dev/null 2>/dev/null; check "rejects a slash" 2 $?
grep -q '@VERSION@' "$here/www/index.html.in"; check "template has the placeholder" 0 $?

# --- the hits CGI --------------------------------------------------------------------------
# cgi [VAR=VALUE...]: runs the CGI as httpd would; sets status (e.g. "200 OK"), ctype and body.
cgi() {
  out=$(env REQUEST_METHOD=GET HITS_KEY=$key "$@" sh "$cgi")
  status=$(printf '%s\n' "$out" | sed -n '1s/^Status: //p' | tr -d "$cr")
  ctype=$(printf '%s\n' "$out" | sed -n 's/^Content-Type: //p' | tr -d "$cr")
  body=$(printf '%s\n' "$out" | tr -d "$cr" | sed '1,/^$/d')
}
# redis CMD ARG...: one command in RESP to the test redis; prints the reply's last line (the value).
redis() {
  {
    printf '*%d\r\n' $#
    for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
  } | nc -w 2 "${REDIS_HOST:-127.0.0.1}" "${REDIS_PORT:-6379}" 2>/dev/null |
    tail -n 1 | tr -d "$cr"
}

[ -x "$cgi" ]; check "the CGI is executable" 0 $?
cgi REQUEST_METHOD=DELETE
check "DELETE is refused" "405 Method Not Allowed" "$status"
cgi HITS_KEY='bad key'
check "a bad key is refused" "500 Internal Server Error" "$status"
cgi REDIS_HOST=127.0.0.1 REDIS_PORT=1
check "no redis: 503" "503 Service Unavailable" "$status"
case $body in
  "redis unreachable at 127.0.0.1:1"*) ok "no redis: says so: $body" ;;
  *) fail "no redis: says so: got [$body]" ;;
esac
check "no redis: text/plain" "text/plain" "$ctype"
cgi REDIS_HOST=no-such-host.invalid
check "unknown redis host: 503" "503 Service Unavailable" "$status"

if ! $offline; then
  pong=$(redis PING)
  if [ "$pong" != "+PONG" ]; then
    fail "redis at ${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379} answers PING (got [$pong])"
    finish
  fi
  ok "redis at ${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379} answers PING"
  redis DEL "$key" >/dev/null
  cgi
  check "first hit: 200" "200 OK" "$status"
  check "first hit: text/plain" "text/plain" "$ctype"
  check "first hit counts 1" "hits 1" "$body"
  cgi
  check "second hit counts 2" "hits 2" "$body"
  cgi REQUEST_METHOD=POST
  check "POST counts too" "hits 3" "$body"
  check "the count is in redis" "3" "$(redis GET "$key")"
  redis SET "$key" 1000 >/dev/null
  cgi
  check "counts on from a stored value" "hits 1001" "$body"
  redis SET "$key" abc >/dev/null
  cgi
  check "redis error: 503" "503 Service Unavailable" "$status"
  check "redis error: passes the message on" \
    "redis error: ERR value is not an integer or out of range" "$body"
  redis DEL "$key" >/dev/null
  # One hit must take milliseconds: nc must not wait for a timeout after the reply.
  start=$(date +%s)
  i=0
  while [ $i -lt 10 ]; do cgi; i=$((i + 1)); done
  took=$(($(date +%s) - start))
  speed=fast
  [ "$took" -lt 5 ] || speed="slow (${took}s)"
  check "ten hits in under 5 s" "hits 10 fast" "$body $speed"
  redis DEL "$key" >/dev/null
fi
finish
