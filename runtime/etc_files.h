// The /etc/hostname, /etc/hosts and /etc/resolv.conf a container sees, generated per container.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "runtime/container_spec.h"

namespace slipway::runtime {

std::string hosts_file(std::string_view hostname);

// The host's resolv.conf adapted for a container: with its own network namespace, loopback
// nameservers (systemd-resolved's 127.0.0.53 stub, a local dnsmasq) are unreachable, so they are
// dropped, as Docker does. Search and options lines are kept.
std::string container_resolv_conf(std::string_view host_resolv_conf, NetworkMode mode);

// Writes hostname, hosts and resolv.conf into dir.
Status write_etc_files(const std::string& dir, const ContainerSpec& spec);

}  // namespace slipway::runtime
