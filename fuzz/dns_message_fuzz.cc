// DNS messages as a container on a network sends them to its resolver: parsed, answered with a
// response skeleton, and encoded again.
#include <cstddef>
#include <cstdint>
#include <span>

#include "netns/dns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slipway::netns;
  std::span<const uint8_t> wire(data, size);
  (void)parse_dns_header(wire);
  auto message = parse_dns_message(wire);
  if (!message) return 0;
  for (const auto& q : message->questions) {
    (void)parse_dns_reverse_name(q.name);
    (void)dns_canonical_name(q.name);
  }
  for (const auto& r : message->answers) (void)dns_rdata_name(r);
  (void)build_dns_message(*message);
  (void)build_dns_message(make_dns_response(*message, 3));
  return 0;
}
