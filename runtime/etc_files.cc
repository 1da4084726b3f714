#include "runtime/etc_files.h"

#include <fmt/core.h>

#include <sstream>

#include "base/fs.h"

namespace slipway::runtime {

std::string hosts_file(std::string_view hostname) {
  return fmt::format(
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t{}\n",
      hostname);
}

static bool is_loopback_nameserver(std::string_view addr) {
  return addr.starts_with("127.") || addr == "::1";
}

std::string container_resolv_conf(std::string_view host, NetworkMode mode) {
  std::istringstream in{std::string(host)};
  std::string out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (mode != NetworkMode::kHost && key == "nameserver" && is_loopback_nameserver(value)) continue;
    out += line;
    out += '\n';
  }
  return out;
}

Status write_etc_files(const std::string& dir, const ContainerSpec& spec) {
  SLW_TRY(fs::write_file(fs::join(dir, "hostname"), spec.hostname + "\n"));
  SLW_TRY(fs::write_file(fs::join(dir, "hosts"), hosts_file(spec.hostname) + spec.network.extra_hosts));
  std::string resolv = spec.network.resolv_conf;
  if (resolv.empty()) {
    auto host = fs::read_file("/etc/resolv.conf");
    resolv = host ? container_resolv_conf(*host, spec.network.mode) : "";
  }
  SLW_TRY(fs::write_file(fs::join(dir, "resolv.conf"), resolv));
  return {};
}

}  // namespace slipway::runtime
