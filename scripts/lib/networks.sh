# Sourced by scripts that make a slipway root of their own (demo, benchmarks).
# remove_networks SLIPWAY_COMMAND...: removes every network of that root, the default one
# (builds and `--net default` make it) included: bridges and their nftables rules are host-wide
# and would outlive the root's directory.
remove_networks() {
  local n
  for n in $("$@" network ls 2>/dev/null | awk 'NR > 1 { print $1 }'); do
    "$@" network rm "$n" >/dev/null 2>&1 || true
  done
}
