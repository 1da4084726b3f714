#include "engine/container_network.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "netns/netlink.h"
#include "netns/netns_fd.h"
#include "netns/network_store.h"
#include "netns/veth.h"
#include "engine/container_config.h"
#include "engine/dns_service.h"
#include "runtime/container_ops.h"

namespace slipway::engine {

Result<std::shared_ptr<ContainerNetwork>> ContainerNetwork::prepare(
    const std::string& root, const runtime::ContainerStore& containers, const RunOptions& o,
    const std::string& container_name, runtime::ContainerSpec& spec) {
  std::shared_ptr<ContainerNetwork> net(new ContainerNetwork());
  net->container_id_ = spec.id;
  NetworkChoice choice = SLW_TRY(parse_net_option(o.net));
  if (choice.kind == NetworkChoice::Kind::kHost && (!o.forwards.empty() || !o.publish.empty()))
    return fail("--forward and -p need a network namespace of the container's own, not --net host");
  for (const auto& f : o.forwards) net->forwards_.push_back(SLW_TRY(netns::parse_forward_spec(f)));
  for (const auto& p : o.publish) net->forwards_.push_back(SLW_TRY(netns::parse_publish_spec(p)));
  if (choice.kind != NetworkChoice::Kind::kNetwork && (!o.ip.empty() || !o.aliases.empty()))
    return fail("--ip and --alias need --net NETWORK, not --net {}", o.net);

  if (choice.kind == NetworkChoice::Kind::kContainer) {
    runtime::ContainerRecord holder = SLW_TRY_CTX(containers.find(choice.name), "--net {}", o.net);
    runtime::ContainerState st = SLW_TRY(containers.load_state(holder.id));
    if (!runtime::container_running(st))
      return fail("--net {}: container {} is not running", o.net, holder.name);
    net->holder_pid_ = st.pid;
    net->holder_start_time_ = st.pid_start_time;
    spec.network.join_path = fmt::format("/proc/{}/ns/net", st.pid);
    // Members of one network stack share its name service view, as with Docker.
    spec.network.resolv_conf = fs::read_file(fs::join(containers.dir(holder.id), "etc/resolv.conf")).value_or("");
    spec.network.extra_hosts = holder.spec.network.extra_hosts;
    return net;
  }
  if (choice.kind != NetworkChoice::Kind::kNetwork) return net;

  netns::NetworkStore networks(root);
  netns::Network network = choice.name == kDefaultNetwork ? SLW_TRY(networks.ensure_default())
                                                          : SLW_TRY(networks.get(choice.name));
  std::optional<netns::Ipv4> requested;
  if (!o.ip.empty()) requested = SLW_TRY(netns::parse_ipv4(o.ip));
  std::vector<std::string> names = {container_name};
  if (spec.hostname != container_name) names.push_back(spec.hostname);
  names.insert(names.end(), o.aliases.begin(), o.aliases.end());
  net->ipam_.emplace(root, network);
  pid_t self = ::getpid();
  netns::Lease lease = SLW_TRY_CTX(
      net->ipam_->allocate(spec.id, names, requested, self, runtime::process_start_time(self)),
      "network {}", network.name);
  net->lease_ = lease;  // released by the destructor if anything below fails
  net->network_ = network;
  // Only now: `network rm` refuses a network with leases, so it cannot remove the network between
  // the lookup above and these, leaving a bridge (or a DNS process) of a removed network.
  SLW_TRY(netns::ensure_bridge(network));
  SLW_TRY(ensure_dns_service(root, network));

  spec.network.resolv_conf =
      fmt::format("nameserver {}\nsearch {}\n", network.gateway.to_string(), network.domain);
  std::string hosts = lease.ip.to_string();
  for (const auto& n : names) hosts += "\t" + n;
  spec.network.extra_hosts = hosts + "\n";
  return net;
}

ContainerNetwork::~ContainerNetwork() {
  stop_forwarders();
  release();
}

void ContainerNetwork::release() {
  if (!lease_ || !ipam_) return;
  if (auto st = ipam_->release(container_id_); !st) log::warn("{}", st.error().message());
  lease_.reset();
}

Status ContainerNetwork::attach(pid_t pid) {
  if (!forwards_.empty()) SLW_TRY(start_forwarders(pid));
  if (!lease_ || !network_) return {};
  // The lease now belongs to the process that waits for the container (it may be a supervisor).
  pid_t self = ::getpid();
  SLW_TRY(ipam_->update_process(container_id_, self, runtime::process_start_time(self)));
  UniqueFd ns = SLW_TRY(netns::open_netns(pid));
  const netns::Network& n = *network_;
  std::string host_if = netns::host_veth_name(container_id_);
  // A start right after a stop can find this container's old host end still there: the kernel
  // removes a veth with its namespace, but in the background. The name is this container's own.
  auto created = netns::create_veth_into(host_if, n.bridge, ns.get(), "eth0", n.mtu);
  if (!created && created.error().code() == EEXIST) {
    auto nl = SLW_TRY(netns::Netlink::open());
    SLW_TRY(nl.delete_link(host_if));
    created = netns::create_veth_into(host_if, n.bridge, ns.get(), "eth0", n.mtu);
  }
  SLW_TRY_CTX(std::move(created), "network {}", n.name);
  SLW_TRY_CTX(netns::configure_container_interface(ns.get(), "eth0", lease_->ip, n.subnet.prefix,
                                                   n.gateway, n.mtu),
              "network {}", n.name);
  return {};
}

// Listening sockets are made before the container's command starts, so a port in use fails the
// start with a clear error and the command never races its own forwarders.
Status ContainerNetwork::start_forwarders(pid_t pid) {
  container_netns_ = SLW_TRY(netns::open_netns(pid));
  forwarder_ = SLW_TRY(netns::PortForwarder::create());
  for (auto rule : forwards_) {
    if (rule.direction == netns::ForwardRule::Direction::kForward) {
      rule.listen_netns_fd = container_netns_.get();  // the container's localhost...
    } else {
      rule.connect_netns_fd = container_netns_.get();  // ...or a host port into the container
    }
    SLW_TRY(forwarder_->add_rule(rule));
  }
  return forwarder_->start();
}

// The kernel removes a veth with its namespace, but in the background: a restart re-creates the
// same name right away, so it goes now.
void ContainerNetwork::remove_host_veth() {
  if (!lease_ || !network_) return;
  auto nl = netns::Netlink::open();
  if (!nl) return;
  if (auto st = nl->delete_link(netns::host_veth_name(container_id_)); !st) log::warn("{}", st.error().message());
}

void ContainerNetwork::stop_forwarders() {
  if (forwarder_) forwarder_->stop();
  forwarder_.reset();
  container_netns_.reset();
}

runtime::ContainerHooks ContainerNetwork::hooks(const std::shared_ptr<ContainerNetwork>& self) {
  runtime::ContainerHooks h;
  h.before_exec = [self](pid_t pid) { return self->attach(pid); };
  h.stopped = [self] {
    self->stop_forwarders();
    self->remove_host_veth();
  };
  h.finished = [self] {
    self->stop_forwarders();
    self->release();
  };
  if (self->holder_pid_ > 0) {
    h.holder_pidfd = [self]() -> int {
      int fd = static_cast<int>(::syscall(SYS_pidfd_open, self->holder_pid_, 0));
      if (fd >= 0 && !runtime::process_alive(self->holder_pid_, self->holder_start_time_)) {
        ::close(fd);
        return -1;
      }
      return fd;  // owned by the waiting process until it exits
    };
  }
  return h;
}

}  // namespace slipway::engine
