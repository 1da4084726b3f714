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

# slipway turns on IPv4 forwarding when a network with egress starts and leaves it on, as Docker
# does; a benchmark puts the host's setting (read when this file is sourced) back in its cleanup.
saved_ip_forward=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || true)
restore_ip_forward() {
  [[ -n $saved_ip_forward && -w /proc/sys/net/ipv4/ip_forward ]] || return 0
  echo "$saved_ip_forward" >/proc/sys/net/ipv4/ip_forward
}
