// IPv4 and CIDR values: parsing (and its one-line errors), containment, overlap, host numbering.
#include <gtest/gtest.h>

#include "netns/cidr.h"

namespace slipway::netns {
namespace {

Ipv4 ip(std::string_view s) {
  return *parse_ipv4(s);
}
Cidr cidr(std::string_view s) {
  return *parse_cidr(s);
}

TEST(Ipv4, ParsesAndPrints) {
  auto a = parse_ipv4("172.18.0.5");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->value, (172u << 24) | (18u << 16) | 5u);
  EXPECT_EQ(a->to_string(), "172.18.0.5");
  EXPECT_EQ(ip("0.0.0.0").value, 0u);
  EXPECT_EQ(ip("255.255.255.255").value, 0xffffffffu);
  EXPECT_LT(ip("10.0.0.9"), ip("10.0.0.10"));
}

TEST(Ipv4, RejectsGarbageNamingIt) {
  for (std::string_view bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "a.b.c.d", "1.2.3.4 "}) {
    auto a = parse_ipv4(bad);
    ASSERT_FALSE(a) << bad;
    EXPECT_NE(a.error().message().find(fmt::format("\"{}\"", bad)), std::string::npos)
        << a.error().message();
  }
}

TEST(Cidr, ParsesNetworkAndPrefix) {
  Cidr c = cidr("172.18.0.0/16");
  EXPECT_EQ(c.network, ip("172.18.0.0"));
  EXPECT_EQ(c.prefix, 16);
  EXPECT_EQ(c.mask(), 0xffff0000u);
  EXPECT_EQ(c.broadcast(), ip("172.18.255.255"));
  EXPECT_EQ(c.host(1), ip("172.18.0.1"));
  EXPECT_EQ(c.size(), 65536u);
  EXPECT_EQ(c.to_string(), "172.18.0.0/16");
  EXPECT_EQ(cidr("0.0.0.0/0").mask(), 0u);
  EXPECT_EQ(cidr("10.1.2.3/32").size(), 1u);
}

TEST(Cidr, RefusesHostBitsWithAHint) {
  auto c = parse_cidr("172.18.0.1/16");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("did you mean 172.18.0.0/16"), std::string::npos)
      << c.error().message();
}

TEST(Cidr, RefusesBadPrefixesAndShapes) {
  for (std::string_view bad :
       {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0/8", "/8"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
}

TEST(Cidr, ContainsAndOverlaps) {
  Cidr net = cidr("10.1.0.0/16");
  EXPECT_TRUE(net.contains(ip("10.1.255.254")));
  EXPECT_FALSE(net.contains(ip("10.2.0.1")));
  EXPECT_TRUE(net.overlaps(cidr("10.0.0.0/8")));    // inside a bigger one
  EXPECT_TRUE(net.overlaps(cidr("10.1.7.0/24")));   // contains a smaller one
  EXPECT_TRUE(net.overlaps(cidr("0.0.0.0/0")));     // everything overlaps the default route
  EXPECT_FALSE(net.overlaps(cidr("10.2.0.0/16")));  // neighbour
  EXPECT_FALSE(cidr("192.168.0.0/20").overlaps(cidr("192.168.16.0/20")));
  EXPECT_TRUE(cidr("192.168.0.0/20").overlaps(cidr("192.168.15.0/24")));
}

}  // namespace
}  // namespace slipway::netns
