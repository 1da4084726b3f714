// What `inspect`, `ps --format` and `ps --filter` see of a container, in Docker's shapes, so that a
// CI script's `docker inspect -f '{{.State.ExitCode}}' x` or `docker ps -q --filter name=x` only
// changes `docker` to `slipway`. Pure functions of the record, its state, its leases and the time.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "netns/ipam.h"
#include "netns/network.h"
#include "runtime/container_store.h"

namespace slipway::engine {

// A container's address on one network.
struct ContainerAddress {
  netns::Network network;
  netns::Lease lease;
};

// The container's addresses on this root's networks (leases it owns).
std::vector<ContainerAddress> container_addresses(const std::string& root, std::string_view container_id);

// Docker's `inspect` fields: Id, Created, Name ("/NAME"), Path, Args, Image, State{Status, Running,
// Paused, Restarting, OOMKilled, Dead, Pid, ExitCode, Error, StartedAt, FinishedAt}, Config{Hostname,
// Image, Env, Cmd, WorkingDir, User, Labels}, HostConfig{AutoRemove, NetworkMode}, NetworkSettings{
// IPAddress, Gateway, IPPrefixLen, Networks{NAME: {IPAddress, Gateway, IPPrefixLen, Aliases}}}.
nlohmann::json docker_inspect_fields(const runtime::ContainerRecord& record, const runtime::ContainerState& state,
                                     const std::vector<ContainerAddress>& addresses);

// Docker's `ps --format` fields: ID, Image, Command, CreatedAt, RunningFor, Status ("Up 2 minutes",
// "Exited (1) 3 seconds ago", "Created"), State, Names, Networks.
nlohmann::json docker_ps_fields(const runtime::ContainerRecord& record, const runtime::ContainerState& state,
                                const std::vector<ContainerAddress>& addresses, std::time_t now);

// Docker's units.HumanDuration: "Less than a second", "3 seconds", "About a minute", "5 hours"...
std::string human_duration(int64_t seconds);
// "2026-12-04T14:00:00.123456789Z" -> seconds since the epoch; -1 when empty or unreadable.
std::time_t parse_rfc3339(const std::string& text);

// `ps --filter KEY=VALUE`, as Docker's: name (a substring of the name), id (a prefix), status
// (created, running, restarting, exited), health (starting, healthy, unhealthy, none), network
// (a network name), ancestor (the image as given to run).
// Filters of one key match if any does; filters of different keys must all match.
class PsFilter {
 public:
  // The error names the filter that is wrong.
  static Result<PsFilter> parse(const std::vector<std::string>& filters);
  bool matches(const runtime::ContainerRecord& record, const runtime::ContainerState& state,
               const std::vector<ContainerAddress>& addresses) const;
  // Whether any filter asks about status (then stopped containers are listed without -a, as with
  // Docker's `ps --filter status=exited`).
  bool has_status() const;

 private:
  std::vector<std::pair<std::string, std::string>> filters_;
};

}  // namespace slipway::engine
