# Shared by the test scripts (sourced, not run): ok/FAIL lines and the exit status.
failed=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failed=1; }
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
is_number() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
# get PATH: the body of APP_URL/PATH; fails on an HTTP error or no answer within 10 s. (timeout,
# not wget -T: Debian's busybox 1.35 wget crashes with -T.)
get() { timeout 10 wget -q -O - "$APP_URL$1" 2>/dev/null; }
# why PATH: the status line and body of APP_URL/PATH (through nc: wget shows no body on an error).
why() {
  hostport=${APP_URL#*://}
  hostport=${hostport%%/*}
  case $hostport in *:*) ;; *) hostport=$hostport:80 ;; esac
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$hostport" |
    timeout 10 nc -w 5 "${hostport%:*}" "${hostport##*:}" 2>&1 | tr -d '\r' |
    sed -n '1p;/^$/,$p' | tr '\n' ' '
}
finish() {
  if [ "$failed" -eq 0 ]; then echo "all passed: $0"; else echo "FAILED: $0"; fi
  exit "$failed"
}
