// What `slipway run` was asked for, before it is turned into a runtime::ContainerSpec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace slipway::engine {

struct RunOptions {
  std::string image;   // name[:tag], digest or id prefix
  std::string rootfs;  // --rootfs DIR instead of an image
  std::string pull = "missing";  // missing | always | never (image_source.h)
  std::vector<std::string> command;  // CMD [ARG...] after the image
  std::optional<std::string> entrypoint;
  std::string name;
  std::string hostname;
  std::vector<std::string> env;      // K=V, or K to take the value from slipway's environment
  std::vector<std::string> env_files;  // --env-file FILE: read before -e, which wins
  std::vector<std::string> add_hosts;  // --add-host HOST:IP lines for /etc/hosts
  std::string workdir;
  std::string user;                  // UID[:GID] or NAME[:GROUP]
  std::vector<std::string> volumes;  // SRC:DST[:ro|rw]
  bool interactive = false;  // -i: stdin is passed on (else the container reads EOF)
  bool tty = false;          // -t: stdio is a pseudo-terminal
  bool read_only = false;
  bool remove = false;
  bool detach = false;
  std::string restart = "no";  // --restart no | on-failure[:N] | always | unless-stopped (with -d)
  bool init = false;
  std::string memory;  // bytes, with an optional k/m/g suffix
  std::optional<double> cpus;
  std::optional<int64_t> pids_limit;
  std::optional<double> timeout_seconds;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::string seccomp = "default";  // default | unconfined | FILE.json
  std::string net = "none";         // none | host | NETWORK | container:NAME
  std::string ip;                   // --ip on a network
  std::vector<std::string> aliases;  // --alias: more DNS names on the network
  std::vector<std::string> forwards;  // --forward [ADDR:]PORT=HOST:PORT (container -> host)
  std::vector<std::string> publish;   // -p [HOSTADDR:]HOSTPORT:PORT (host -> container)
  // --health-cmd and its timings (Go durations: "30s", "1m30s", "500ms"); what is not given comes
  // from the image's HEALTHCHECK, then Docker's defaults.
  std::string health_cmd;
  std::string health_interval, health_timeout, health_start_period, health_start_interval;
  std::optional<int> health_retries;
  bool no_healthcheck = false;
  std::vector<std::string> log_opts;  // --log-opt max-size=SIZE | max-file=N (detached logs)
  std::vector<std::string> storage_opts;  // --storage-opt size=SIZE (the writable layer's limit)
};

}  // namespace slipway::engine
