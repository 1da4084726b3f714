// Network helpers shared by tests: plain links to hang addresses and routes on.
#pragma once

#include <string>

#include "base/error.h"
#include "netns/netlink.h"

namespace slipway::testing {

// Creates a link that needs no attributes, down, in nl's namespace: dummy where the kernel has it
// (this host's does not), else ifb. Returns the kind made; an existing link of that name fails
// with EEXIST, as Netlink::add_link reports it.
Result<std::string> create_plain_link(netns::Netlink& nl, const std::string& name);

}  // namespace slipway::testing
