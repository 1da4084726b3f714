// Network sub-commands: network create, ls, rm.
#include <optional>

#include "cli/cli.h"
#include "netns/ipam.h"
#include "netns/network_store.h"
#include "engine/dns_service.h"

namespace slipway::cli {
namespace {

struct CreateArgs {
  std::string name, subnet, gateway, domain;
  bool internal = false;
};

Result<int> do_create(const GlobalOptions& g, const CreateArgs& a) {
  netns::NetworkOptions options;
  if (!a.subnet.empty()) options.subnet = SLW_TRY(netns::parse_cidr(a.subnet));
  if (!a.gateway.empty()) options.gateway = SLW_TRY(netns::parse_ipv4(a.gateway));
  if (!a.domain.empty()) options.domain = a.domain;
  options.internal = a.internal;
  netns::NetworkStore store(g.root);
  netns::Network n = SLW_TRY(store.create(a.name, options));
  fmt::print("{}\n", n.name);
  return 0;
}

Result<int> do_ls(const GlobalOptions& g) {
  netns::NetworkStore store(g.root);
  SLW_TRY(store.ensure_default());
  fmt::print("{:<20}  {:<18}  {:<15}  {:<20}  {:<15}  {:<8}  {}\n", "NAME", "SUBNET", "GATEWAY", "DOMAIN",
             "BRIDGE", "INTERNAL", "CONTAINERS");
  for (const auto& n : SLW_TRY(store.list())) {
    auto leases = netns::Ipam(g.root, n).leases();
    fmt::print("{:<20}  {:<18}  {:<15}  {:<20}  {:<15}  {:<8}  {}\n", n.name, n.subnet.to_string(),
               n.gateway.to_string(), n.domain, n.bridge, n.internal ? "yes" : "no", leases ? leases->size() : 0);
  }
  return 0;
}

Result<int> do_rm(const GlobalOptions& g, const std::vector<std::string>& names) {
  netns::NetworkStore store(g.root);
  int rc = 0;
  for (const auto& n : names) {
    if (auto st = store.remove(n); !st) {
      print_error(st.error());
      rc = 1;
    } else {
      fmt::print("{}\n", n);
    }
  }
  return rc;
}

}  // namespace

void register_network_commands(CLI::App& app, const GlobalOptions& g, Outcome& outcome) {
  auto network = app.add_subcommand("network", "manage container networks (bridges with DNS)");
  network->require_subcommand(1);

  auto create = network->add_subcommand("create", "create a network");
  auto args = std::make_shared<CreateArgs>();
  create->add_option("NAME", args->name)->required();
  create->add_option("--subnet", args->subnet, "CIDR, e.g. 172.20.0.0/16 (default: a free one)");
  create->add_option("--gateway", args->gateway, "the bridge's address (default: first host)");
  create->add_option("--domain", args->domain, "DNS search domain (default: the network name)");
  create->add_flag("--internal", args->internal,
                   "no egress: containers reach only each other and the gateway, not other hosts");
  create->callback([&g, &outcome, args] { run_command(outcome, [&] { return do_create(g, *args); }); });

  auto ls = network->add_subcommand("ls", "list networks");
  ls->callback([&g, &outcome] { run_command(outcome, [&] { return do_ls(g); }); });

  auto rm = network->add_subcommand("rm", "remove networks (none of their containers may run)");
  auto names = std::make_shared<std::vector<std::string>>();
  rm->add_option("NAME", *names)->required();
  rm->callback([&g, &outcome, names] { run_command(outcome, [&] { return do_rm(g, *names); }); });

  // Internal: the network's DNS process, started by the first container that joins it.
  auto dns = network->add_subcommand("dns-serve", "serve a network's DNS (started by slipway itself)");
  dns->group("");  // hidden from help
  auto dns_name = std::make_shared<std::string>();
  auto ready_fd = std::make_shared<int>(-1);
  dns->add_option("NAME", *dns_name)->required();
  dns->add_option("--ready-fd", *ready_fd);
  dns->callback([&g, &outcome, dns_name, ready_fd] {
    run_command(outcome, [&] { return engine::serve_network_dns(g.root, *dns_name, *ready_fd); });
  });
}

}  // namespace slipway::cli
