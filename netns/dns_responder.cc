#include "netns/dns_responder.h"

#include <algorithm>

#include "netns/dns_message.h"

namespace slipway::netns {

namespace {

constexpr size_t kEdnsUdpCap = 1232;

DnsDecision answer(const DnsMessage& response, size_t limit) {
  auto wire = build_dns_message(response, limit);
  if (!wire) {
    // Only a name we made ourselves (from the reverse callback) can fail to encode.
    DnsMessage servfail = response;
    servfail.answers.clear();
    servfail.header.rcode = dns::kServFail;
    wire = build_dns_message(servfail, limit);
    if (!wire) return {};
  }
  return {DnsDecision::Kind::kAnswer, std::move(*wire)};
}

DnsDecision respond(const DnsMessage& query, uint16_t rcode, size_t limit) {
  return answer(make_dns_response(query, rcode), limit);
}

// Which local name a query name stands for, and whether it can only be local.
struct LocalName {
  std::string fqdn;
  bool only_local = false;
  bool apex = false;
};

LocalName local_name_for(const std::string& name, const std::string& domain) {
  if (domain.empty()) return {name, name.find('.') == std::string::npos, false};
  if (name == domain) return {name, true, true};
  if (name.size() > domain.size() && name.ends_with(domain) &&
      name[name.size() - domain.size() - 1] == '.')
    return {name, true, false};
  // A single-label name never leaves the network (dnsmasq's domain-needed); longer ones may be
  // an alias with dots, or a name of the outside world.
  return {name + "." + domain, name.find('.') == std::string::npos, false};
}

}  // namespace

size_t dns_response_limit(std::optional<uint16_t> edns_udp_size, bool over_tcp) {
  if (over_tcp) return dns::kMaxMessageSize;
  if (!edns_udp_size) return dns::kClassicUdpSize;
  return std::clamp<size_t>(*edns_udp_size, dns::kClassicUdpSize, kEdnsUdpCap);
}

DnsDecision answer_dns_query(std::span<const uint8_t> wire, const DnsZone& zone, bool over_tcp) {
  auto header = parse_dns_header(wire);
  if (!header || header->response) return {};
  auto parsed = parse_dns_message(wire);
  if (!parsed) {
    // The header is readable, so the client can be told: FORMERR, echoing no question.
    DnsMessage bare;
    bare.header = *header;
    return respond(bare, dns::kFormErr, dns::kClassicUdpSize);
  }
  const DnsMessage& query = *parsed;
  size_t limit =
      dns_response_limit(query.edns ? std::optional(query.edns->udp_size) : std::nullopt, over_tcp);
  if (query.header.opcode != dns::kOpcodeQuery) return respond(query, dns::kNotImp, limit);
  if (query.questions.size() != 1) return respond(query, dns::kFormErr, limit);
  if (query.edns && query.edns->version != 0) return respond(query, dns::kBadVers, limit);

  const DnsQuestion& q = query.questions.front();
  std::string name = dns_canonical_name(q.name);
  bool internet_class = q.qclass == dns::kClassIN || q.qclass == dns::kClassANY;

  if (q.type == dns::kTypePTR && internet_class && zone.reverse) {
    if (auto address = parse_dns_reverse_name(name)) {
      if (auto target = zone.reverse(*address)) {
        DnsMessage r = make_dns_response(query, dns::kNoError);
        r.header.authoritative = true;
        auto ptr = dns_ptr_record(q.name, *target, zone.ttl);
        if (!ptr) return respond(query, dns::kServFail, limit);
        r.answers.push_back(std::move(*ptr));
        return answer(r, limit);
      }
    }
    return {DnsDecision::Kind::kForward, {}};
  }
  if (name.empty()) return {DnsDecision::Kind::kForward, {}};  // the root zone

  LocalName local = local_name_for(name, dns_canonical_name(zone.domain));
  if (!internet_class)
    return local.only_local ? respond(query, dns::kRefused, limit)
                            : DnsDecision{DnsDecision::Kind::kForward, {}};
  std::optional<std::vector<Ipv4>> addresses;
  if (local.apex)
    addresses.emplace();  // the domain itself exists, with no address
  else if (zone.resolve)
    addresses = zone.resolve(local.fqdn);
  if (!addresses) {
    if (!local.only_local) return {DnsDecision::Kind::kForward, {}};
    DnsMessage r = make_dns_response(query, dns::kNxDomain);
    r.header.authoritative = true;
    return answer(r, limit);
  }
  DnsMessage r = make_dns_response(query, dns::kNoError);
  r.header.authoritative = true;
  if (q.type == dns::kTypeA || q.type == dns::kTypeANY)
    for (Ipv4 a : *addresses) r.answers.push_back(dns_a_record(q.name, a, zone.ttl));
  return answer(r, limit);
}

}  // namespace slipway::netns
