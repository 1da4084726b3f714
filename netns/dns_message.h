// DNS messages (RFC 1035) as plain values: parse from and build to wire format. Parsing follows
// compression pointers (only backwards, so a pointer loop cannot hang it) and rejects anything
// out of bounds; building compresses names and truncates to a size limit with TC set.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "netns/cidr.h"

namespace slipway::netns {

namespace dns {
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNS = 2;
inline constexpr uint16_t kTypeCNAME = 5;
inline constexpr uint16_t kTypeSOA = 6;
inline constexpr uint16_t kTypePTR = 12;
inline constexpr uint16_t kTypeMX = 15;
inline constexpr uint16_t kTypeTXT = 16;
inline constexpr uint16_t kTypeAAAA = 28;
inline constexpr uint16_t kTypeOPT = 41;
inline constexpr uint16_t kTypeANY = 255;
inline constexpr uint16_t kClassIN = 1;
inline constexpr uint16_t kClassANY = 255;

inline constexpr uint8_t kOpcodeQuery = 0;

// Response codes; values above 15 travel partly in the EDNS OPT record.
inline constexpr uint16_t kNoError = 0;
inline constexpr uint16_t kFormErr = 1;
inline constexpr uint16_t kServFail = 2;
inline constexpr uint16_t kNxDomain = 3;
inline constexpr uint16_t kNotImp = 4;
inline constexpr uint16_t kRefused = 5;
inline constexpr uint16_t kBadVers = 16;

inline constexpr size_t kHeaderSize = 12;
// The classic UDP limit for a client that did not offer a larger one with EDNS.
inline constexpr size_t kClassicUdpSize = 512;
inline constexpr size_t kMaxMessageSize = 65535;
}  // namespace dns

struct DnsHeader {
  uint16_t id = 0;
  bool response = false;  // QR
  uint8_t opcode = dns::kOpcodeQuery;
  bool authoritative = false;  // AA
  bool truncated = false;      // TC
  bool recursion_desired = false;
  bool recursion_available = false;
  bool authentic_data = false;     // AD
  bool checking_disabled = false;  // CD
  uint8_t rcode = 0;               // the low 4 bits of the response code
  uint16_t question_count = 0;     // as read off the wire; build_dns_message counts itself
};

// Names are dotted text without the final dot ("web.slipway"; "" is the root), case kept.
struct DnsQuestion {
  std::string name;
  uint16_t type = dns::kTypeA;
  uint16_t qclass = dns::kClassIN;
};

struct DnsRecord {
  std::string name;
  uint16_t type = dns::kTypeA;
  uint16_t rclass = dns::kClassIN;
  uint32_t ttl = 0;
  // Wire rdata. Names inside the rdata of NS, CNAME, PTR, MX and SOA are stored expanded (no
  // compression pointers), so a record can be copied into another message as it is.
  std::vector<uint8_t> rdata;
};

// The EDNS(0) OPT pseudo-record (RFC 6891), kept apart from the additional section.
struct DnsEdns {
  uint16_t udp_size = dns::kClassicUdpSize;
  uint8_t extended_rcode = 0;  // the high 8 bits of the response code
  uint8_t version = 0;
  bool dnssec_ok = false;
  std::vector<uint8_t> options;  // raw option TLVs
};

struct DnsMessage {
  DnsHeader header;
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> answers;
  std::vector<DnsRecord> authority;
  std::vector<DnsRecord> additional;
  std::optional<DnsEdns> edns;

  // The full response code, with the EDNS extension bits.
  uint16_t rcode() const {
    return static_cast<uint16_t>(header.rcode | (edns ? edns->extended_rcode << 4 : 0));
  }
};

// Just the 12-byte header; enough to answer FORMERR to a query whose body is broken.
Result<DnsHeader> parse_dns_header(std::span<const uint8_t> wire);
Result<DnsMessage> parse_dns_message(std::span<const uint8_t> wire);

// Wire format. When the message is larger than max_size, records are dropped from the end: a
// missing answer or authority record sets TC, missing additional records do not (RFC 2181 9).
// The OPT record is always kept. Fails only on names that cannot be encoded.
Result<std::vector<uint8_t>> build_dns_message(const DnsMessage& message,
                                               size_t max_size = dns::kMaxMessageSize);

// A response skeleton for `query`: same id, opcode, RD, CD and questions; QR and RA set; the
// response code split between header and EDNS; an OPT record when the query had one.
DnsMessage make_dns_response(const DnsMessage& query, uint16_t rcode);

DnsRecord dns_a_record(std::string name, Ipv4 address, uint32_t ttl);
Result<DnsRecord> dns_ptr_record(std::string name, std::string_view target, uint32_t ttl);
// The name held in the rdata of an NS, CNAME or PTR record.
Result<std::string> dns_rdata_name(const DnsRecord& record);

// ASCII lowercase, final dot removed: the form names are compared in.
std::string dns_canonical_name(std::string_view name);
// "4.3.2.1.in-addr.arpa" -> 1.2.3.4 (any case, final dot allowed); nullopt for anything else.
std::optional<Ipv4> parse_dns_reverse_name(std::string_view name);
std::string dns_reverse_name(Ipv4 address);

// The id of a wire message, and a copy of one with another id: enough to relay an upstream's
// answer without re-encoding it.
std::optional<uint16_t> dns_wire_id(std::span<const uint8_t> wire);
void set_dns_wire_id(std::span<uint8_t> wire, uint16_t id);

}  // namespace slipway::netns
