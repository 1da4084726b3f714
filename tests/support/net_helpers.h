// Network helpers shared by tests: loopback addresses and bound ports, reading a connection to its
// end, namespaces of their own with lo up, commands run inside one, and plain links to hang
// addresses and routes on.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "netns/netlink.h"
#include "tests/support/test_support.h"

namespace slipway::testing {

// 127.0.0.1:port (0: any port, for bind).
sockaddr_in loopback(uint16_t port);
// The local port a socket is bound to.
uint16_t port_of(int fd);
// Reads until EOF, an error or the socket's receive timeout; the bool says whether a clean EOF
// was seen.
std::pair<std::string, bool> read_to_eof(int fd);

// A fresh network namespace with lo up, alive as long as the returned fd.
Result<UniqueFd> make_test_netns();
// Forks, enters network namespace ns and execs argv (argv[0] looked up in PATH) with stdout and
// stderr captured in `out`; killed after 10 s, reaped either way.
CommandResult run_in_netns(int ns, const std::vector<std::string>& argv);

// Creates a link that needs no attributes, down, in nl's namespace: dummy where the kernel has it
// (this host's does not), else ifb. Returns the kind made; an existing link of that name fails
// with EEXIST, as Netlink::add_link reports it.
Result<std::string> create_plain_link(netns::Netlink& nl, const std::string& name);

}  // namespace slipway::testing
