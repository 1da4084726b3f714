# Shared by scripts/mkimage-*: an OCI image layout made offline from the host's Debian files, with
# one deterministic layer (sorted entries, fixed mtime, numeric owners, gzip -n), so the same host
# files always give the same digests. Sourced, not run. A script sets its inputs, then calls:
#   mkimage_begin NAME OUT STAMP_FILE...   exits 0 when OUT is current; else locks, sets $root
#   mkimage_libraries BIN...               prints the shared objects BINs load (ldd), sorted
#   mkimage_copy_files FILE...             copies files to the same path under $root
#   mkimage_busybox                        busybox-static as /bin/busybox and its applets
#   mkimage_publish REF CONFIG HISTORY [OWNED_DIR UID]   writes the layout and swaps it into OUT
# SOURCE_DATE_EPOCH (reproducible-builds.org) sets every mtime and the "created" time; default 0.

readonly kMkimageEpoch=${SOURCE_DATE_EPOCH:-0}
readonly kMkimageBusybox=/bin/busybox

mkimage_die() {
  echo "$kMkimageName: $*" >&2
  exit 1
}

mkimage_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# mkimage_libraries BIN...: absolute paths of the shared objects, as ldd prints them ("name =>
# /path (addr)" lines plus the loader's own "/lib64/ld-linux-x86-64.so.2 (addr)"; vdso has no file).
mkimage_libraries() {
  local bin out first arrow second
  for bin in "$@"; do
    out=$(ldd "$bin" 2>/dev/null) || continue  # not dynamic: nothing to add
    if grep -q 'not found' <<<"$out"; then
      mkimage_die "ldd $bin: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
    fi
    while read -r first arrow second _; do
      if [[ $arrow == "=>" && $second == /* ]]; then
        echo "$second"
      elif [[ $first == /* ]]; then
        echo "$first"
      fi
    done <<<"$out"
  done | sort -u
}

# A layout is current when its index carries the stamp and every blob still matches its digest.
mkimage_layout_is_current() {
  local dir=$1 digest
  [[ -f $dir/oci-layout && -f $dir/index.json ]] || return 1
  grep -q "\"org.slipway.${kMkimageName}\":\"${kMkimageStamp}\"" "$dir/index.json" || return 1
  for digest in $(grep -ho --binary-files=without-match '"digest":"sha256:[0-9a-f]\{64\}"' \
    "$dir/index.json" "$dir"/blobs/sha256/* 2>/dev/null | sed 's/^"digest":"sha256://; s/"$//' | sort -u); do
    [[ -f $dir/blobs/sha256/$digest ]] || return 1
    [[ $(sha256sum "$dir/blobs/sha256/$digest" | cut -d' ' -f1) == "$digest" ]] || return 1
  done
}

# mkimage_begin NAME OUT VERSION FILE...: the stamp covers the script's version and every input
# file, so a host upgrade of any of them rebuilds the layout.
mkimage_begin() {
  kMkimageName=$1 kMkimageOut=$2
  local version=$3
  shift 3
  [[ $kMkimageEpoch =~ ^[0-9]+$ ]] || mkimage_die "SOURCE_DATE_EPOCH must be a number of seconds, not '$kMkimageEpoch'"
  export LC_ALL=C
  kMkimageStamp=$( (
    echo "$version $kMkimageEpoch"
    sha256sum "$@"
  ) | sha256sum | cut -d' ' -f1)
  mkimage_layout_is_current "$kMkimageOut" && exit 0
  local parent
  parent=$(dirname -- "$kMkimageOut")
  mkdir -p -- "$parent"
  # One writer per parent directory at a time (flock on the directory itself leaves no lock file).
  exec 9<"$parent"
  flock 9
  mkimage_layout_is_current "$kMkimageOut" && exit 0
  kMkimageWork=$(mktemp -d "$parent/.$kMkimageName.XXXXXX")
  trap 'rm -rf -- "$kMkimageWork"' EXIT
  root=$kMkimageWork/rootfs
  mkdir -p "$root"/{bin,etc,dev,proc,sys,tmp,root,usr/bin}
}

# mkimage_copy_files FILE...: each at its own path under $root (libraries where PT_INTERP and the
# loader's default path expect them), following links to the file itself.
mkimage_copy_files() {
  local f
  for f in "$@"; do
    mkdir -p "$root$(dirname -- "$f")"
    install -m 0755 "$f" "$root$f"
  done
}

mkimage_busybox() {
  mkimage_installed busybox-static || mkimage_die "busybox-static is not installed (apt-get install busybox-static)"
  install -m 0755 "$kMkimageBusybox" "$root/bin/busybox"
  local applet
  for applet in $("$kMkimageBusybox" --list); do
    [[ $applet == busybox || $applet == */* || -e $root/bin/$applet ]] && continue
    ln -s busybox "$root/bin/$applet"
  done
}

# mkimage_add_blob FILE: moves FILE into the layout under its digest; sets blob_digest, blob_size.
mkimage_add_blob() {
  blob_digest=$(sha256sum "$1" | cut -d' ' -f1)
  blob_size=$(stat -c %s "$1")
  mv "$1" "$kMkimageWork/layout/blobs/sha256/$blob_digest"
}

# mkimage_publish REF CONFIG HISTORY [OWNED_DIR UID]: CONFIG is the JSON members of the image
# config's "config" object ("Env":[...],"Cmd":[...]); OWNED_DIR (like ./data) is owned by UID,
# everything else by root.
mkimage_publish() {
  local ref=$1 config=$2 history=$3 owned=${4:-} uid=${5:-0}
  local arch variant
  case $(dpkg --print-architecture) in
    amd64) arch=amd64 variant= ;;
    arm64) arch=arm64 variant=v8 ;;
    armhf) arch=arm variant=v7 ;;
    i386) arch=386 variant= ;;
    *) arch=$(dpkg --print-architecture) variant= ;;
  esac
  find "$root" -type d -exec chmod 0755 {} +
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"

  local work=$kMkimageWork layer_tar=$kMkimageWork/layer.tar
  local tar_opts=(--format=ustar --numeric-owner --mtime="@$kMkimageEpoch" -C "$root")
  if [[ -n $owned ]]; then
    tar --sort=name --owner=0 --group=0 --anchored --exclude="$owned" "${tar_opts[@]}" -cf "$layer_tar" .
    tar --owner="$uid" --group="$uid" "${tar_opts[@]}" -rf "$layer_tar" "$owned"
  else
    tar --sort=name --owner=0 --group=0 "${tar_opts[@]}" -cf "$layer_tar" .
  fi
  local diff_id
  diff_id=$(sha256sum "$layer_tar" | cut -d' ' -f1)
  gzip -n -9 "$layer_tar"
  mkdir -p "$work/layout/blobs/sha256"
  mkimage_add_blob "$layer_tar.gz"
  local layer_digest=$blob_digest layer_size=$blob_size

  local created platform
  created=$(date -u -d "@$kMkimageEpoch" +%Y-%m-%dT%H:%M:%SZ)
  platform="\"architecture\":\"${arch}\",\"os\":\"linux\""
  [[ -n $variant ]] && platform+=",\"variant\":\"${variant}\""
  printf '{%s,"created":"%s","config":{%s},' "$platform" "$created" "$config" >"$work/config.json"
  printf '"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},' "$diff_id" >>"$work/config.json"
  printf '"history":[{"created":"%s","created_by":"%s"}]}' "$created" "$history" >>"$work/config.json"
  mkimage_add_blob "$work/config.json"
  local config_digest=$blob_digest config_size=$blob_size

  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' >"$work/manifest.json"
  printf '"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},' \
    "$config_digest" "$config_size" >>"$work/manifest.json"
  printf '"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$layer_digest" "$layer_size" >>"$work/manifest.json"
  mkimage_add_blob "$work/manifest.json"
  local manifest_digest=$blob_digest manifest_size=$blob_size

  printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[' \
    >"$work/layout/index.json"
  printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,' \
    "$manifest_digest" "$manifest_size" >>"$work/layout/index.json"
  printf '"platform":{%s},"annotations":{"org.opencontainers.image.ref.name":"%s"}}],' \
    "$platform" "$ref" >>"$work/layout/index.json"
  printf '"annotations":{"org.slipway.%s":"%s"}}' "$kMkimageName" "$kMkimageStamp" >>"$work/layout/index.json"
  chmod -R a+rX "$work/layout"

  # Swap the finished layout into place.
  if [[ -e $kMkimageOut ]]; then
    mv -- "$kMkimageOut" "$work/old"
  fi
  mv -- "$work/layout" "$kMkimageOut"
}
