// The service DNS's index of lease names: what a name and an address answer, with the same
// semantics for 3 leases as for 2,000.
#include "engine/dns_service.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace slipway::engine {
namespace {

netns::Lease lease(uint32_t last_octet, std::vector<std::string> names) {
  netns::Lease l;
  l.ip = netns::Ipv4{(10u << 24) | last_octet};
  l.owner = "c" + std::to_string(last_octet);
  l.names = std::move(names);
  return l;
}

std::vector<uint32_t> values(const std::optional<std::vector<netns::Ipv4>>& ips) {
  std::vector<uint32_t> out;
  if (ips)
    for (auto ip : *ips) out.push_back(ip.value & 0xff);
  return out;
}

TEST(LeaseNamesTest, NamesResolveShortOrInTheDomainAndAnyCase) {
  LeaseNames names({lease(2, {"web", "Web-Host"}), lease(3, {"db", "cache"})}, "Prod");
  EXPECT_EQ(values(names.resolve("web")), std::vector<uint32_t>{2});
  EXPECT_EQ(values(names.resolve("web-host.prod.")), std::vector<uint32_t>{2});
  EXPECT_EQ(values(names.resolve("CACHE.prod")), std::vector<uint32_t>{3});
  EXPECT_FALSE(names.resolve("prod"));
  EXPECT_FALSE(names.resolve("web.other"));
  EXPECT_FALSE(names.resolve(".prod"));
  EXPECT_FALSE(names.empty());
}

TEST(LeaseNamesTest, AnAliasOfSeveralLeasesGivesEachAddressOnce) {
  LeaseNames names({lease(2, {"a", "api", "API"}), lease(3, {"b", "api"}), lease(4, {"c"})}, "net");
  EXPECT_EQ(values(names.resolve("api")), (std::vector<uint32_t>{2, 3}));
}

TEST(LeaseNamesTest, AnAddressGivesItsFirstLeasesFirstName) {
  LeaseNames names({lease(2, {"Web", "alias"}), lease(3, {}), lease(2, {"later"})}, "net");
  EXPECT_EQ(names.reverse(netns::Ipv4{(10u << 24) | 2}), "Web");
  EXPECT_FALSE(names.reverse(netns::Ipv4{(10u << 24) | 3}));
  EXPECT_FALSE(names.reverse(netns::Ipv4{(10u << 24) | 9}));
}

TEST(LeaseNamesTest, ManyLeasesKeepEveryName) {
  std::vector<netns::Lease> leases;
  for (uint32_t i = 0; i < 2000; ++i) leases.push_back(lease(i, {"c" + std::to_string(i)}));
  LeaseNames names(leases, "big");
  for (uint32_t i : {0u, 999u, 1999u})
    EXPECT_EQ(values(names.resolve("c" + std::to_string(i) + ".big")), std::vector<uint32_t>{i & 0xff}) << i;
  EXPECT_TRUE(LeaseNames().empty());
  EXPECT_FALSE(LeaseNames().resolve("c1"));
}

}  // namespace
}  // namespace slipway::engine
