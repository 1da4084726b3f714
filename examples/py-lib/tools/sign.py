"""Signs release files with the key in $RELEASE_KEY (a pipeline secret): writes FILE.sig holding
HMAC-SHA256(key, FILE) in hex, what the project's download page checks. python3 tools/sign.py FILE..."""

import hashlib
import hmac
import os
import sys


def main():
    key = os.environ.get("RELEASE_KEY")
    if not key:
        sys.exit("sign: RELEASE_KEY is not set (the pipeline gives it to the sign step only)")
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            digest = hmac.new(key.encode(), f.read(), hashlib.sha256).hexdigest()
        with open(path + ".sig", "w") as f:
            f.write(digest + "\n")
        print(f"signed {path}")


if __name__ == "__main__":
    main()
