"""Builds the source distribution intervals-VERSION.tar.gz into DIR, reproducibly: sorted
entries, root owner, the commit's time ($COMMIT_TIME, ISO 8601, as CI_COMMIT_TIMESTAMP) as every
mtime, gzip without a name or time. python3 tools/build_sdist.py DIR"""

import datetime
import gzip
import io
import os
import sys
import tarfile

sys.path.insert(0, "src")
import intervals  # noqa: E402


def main():
    out_dir = sys.argv[1]
    commit_time = os.environ.get("COMMIT_TIME", "1970-01-01T00:00:00+00:00")
    epoch = int(datetime.datetime.fromisoformat(commit_time).timestamp())
    name = f"intervals-{intervals.__version__}"
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk("src") for f in fs if f.endswith(".py"))
    files += ["README.md"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            info = tar.gettarinfo(path, arcname=f"{name}/{path}")
            info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = epoch, 0, 0, "", "", 0o644
            with open(path, "rb") as f:
                tar.addfile(info, f)
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, f"{name}.tar.gz")
    with open(target, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue())
    print(target)


if __name__ == "__main__":
    main()
