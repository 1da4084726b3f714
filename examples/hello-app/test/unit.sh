#!/bin/sh
# Unit tests of bin/render; run in the build stage, so a failure stops the image build.
set -u
here=$(dirname "$0")/..
failed=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failed=1; fi
}
check "fills in the version" "v1.2" "$(echo 'v@VERSION@' | sh "$here/bin/render" 1.2)"
check "every occurrence" "1-1" "$(echo '@VERSION@-@VERSION@' | sh "$here/bin/render" 1)"
check "leaves other text" "plain" "$(echo plain | sh "$here/bin/render" 3)"
sh "$here/bin/render" '' </dev/null 2>/dev/null; check "rejects an empty version" 2 $?
sh "$here/bin/render" 'a/b' </dev/null 2>/dev/null; check "rejects a slash" 2 $?
grep -q '@VERSION@' "$here/www/index.html.in"; check "template has the placeholder" 0 $?
exit $failed
