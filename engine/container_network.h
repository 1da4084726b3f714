// Connects one container to its network for as long as it runs: a lease and a veth on a bridge
// network, the holder's namespace for --net container:NAME, and the --forward / -p port forwarders.
// Prepared in the CLI process, then run as runtime hooks in whichever process waits for the
// container (run itself or its detached supervisor), so forwarders live exactly as long as it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "netns/forward_rule.h"
#include "netns/ipam.h"
#include "netns/network.h"
#include "netns/port_forwarder.h"
#include "engine/run_options.h"
#include "runtime/container_store.h"
#include "runtime/supervisor.h"

namespace slipway::engine {

class ContainerNetwork {
 public:
  // Fills spec.network (join path, resolv.conf, hosts) and, on a network, leases an address.
  static Result<std::shared_ptr<ContainerNetwork>> prepare(const std::string& root,
                                                           const runtime::ContainerStore& containers,
                                                           const RunOptions& options,
                                                           const std::string& container_name,
                                                           runtime::ContainerSpec& spec);
  ~ContainerNetwork();
  ContainerNetwork(const ContainerNetwork&) = delete;
  ContainerNetwork& operator=(const ContainerNetwork&) = delete;

  // Hooks that keep `self` alive: veth before exec, cleanup when finished.
  static runtime::ContainerHooks hooks(const std::shared_ptr<ContainerNetwork>& self);

  // Returns the lease; safe to call more than once.
  void release();
  // This process no longer owns the lease (a detached supervisor does): drop it without releasing.
  void hand_over() { lease_.reset(); }

  const std::optional<netns::Lease>& lease() const { return lease_; }

 private:
  ContainerNetwork() = default;
  Status attach(pid_t pid);
  Status start_forwarders(pid_t pid);
  void stop_forwarders();
  void remove_host_veth();

  std::string container_id_;
  std::vector<netns::ForwardRule> forwards_;  // netns fds filled in at attach
  std::unique_ptr<netns::PortForwarder> forwarder_;
  UniqueFd container_netns_;
  std::optional<netns::Network> network_;
  std::optional<netns::Ipam> ipam_;
  std::optional<netns::Lease> lease_;
  pid_t holder_pid_ = 0;
  uint64_t holder_start_time_ = 0;
};

}  // namespace slipway::engine
