// What the service DNS answers by itself, as a pure function of one query and the network's
// names, so every rule is unit-tested without sockets. DnsServer does the I/O and forwarding.
//
// Rules: "web" and "web.<domain>" are the same name (any case). Names inside <domain>, and
// single-label names, are ours: found -> A records (other types get an empty NOERROR answer, so
// an AAAA lookup falls back to A at once); not found -> NXDOMAIN. Any other name is looked up as
// "<name>.<domain>" first and forwarded upstream when that is not ours either.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netns/cidr.h"

namespace slipway::netns {

struct DnsZone {
  std::string domain;  // the network's domain, e.g. "slipway"
  // Addresses of a local name, given in lowercase with the domain ("web.slipway"); nullopt when
  // the name is unknown. Called on the server's thread.
  std::function<std::optional<std::vector<Ipv4>>(std::string_view fqdn_lowercase)> resolve;
  // Optional: the name of a local address, for PTR queries; nullopt forwards the query upstream.
  std::function<std::optional<std::string>(Ipv4)> reverse;
  uint32_t ttl = 10;  // short: containers come and go, and their addresses with them
};

struct DnsDecision {
  enum class Kind {
    kDrop,     // not a query (a response, or not even a header): never answered
    kAnswer,   // `answer` holds the response
    kForward,  // relay the query to the upstream resolvers
  };
  Kind kind = Kind::kDrop;
  std::vector<uint8_t> answer;
};

// The largest response a client accepts: 512 bytes over UDP unless its EDNS OPT offers more (we
// cap that at 1232, which is never fragmented); 65535 over TCP.
size_t dns_response_limit(std::optional<uint16_t> edns_udp_size, bool over_tcp);

DnsDecision answer_dns_query(std::span<const uint8_t> query, const DnsZone& zone, bool over_tcp);

}  // namespace slipway::netns
