// Host veth names and gc's choice of orphan veths, from sample link lists.
#include <gtest/gtest.h>

#include "netns/ifname.h"
#include "netns/veth.h"

namespace slipway::netns {
namespace {

TEST(HostVethName, SlvPlusTwelveHexDigitsOfTheId) {
  EXPECT_EQ(host_veth_name("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            "slv0123456789ab");
  EXPECT_EQ(host_veth_name("0123456789ABCDEF"), "slv0123456789ab");
}

TEST(HostVethName, NonHexOrShortIdsAreHashedToAValidName) {
  for (std::string_view id : {"web", "", "my-container-name!", "0123456789a"}) {
    std::string n = host_veth_name(id);
    EXPECT_EQ(n.size(), 15u) << id;
    EXPECT_TRUE(n.starts_with("slv")) << id;
    EXPECT_TRUE(is_valid_ifname(n)) << id;
  }
  EXPECT_NE(host_veth_name("web-1"), host_veth_name("web-2"));
}

TEST(OrphanVeths, OnlyOurVethsThatNoLiveContainerOwns) {
  std::vector<LinkInfo> links{
      {"lo", "", 1, 0, 65536, true},
      {"eth0", "", 2, 0, 1500, true},
      {"slw-slipway", "bridge", 3, 0, 1500, true},
      {"slv000000000001", "veth", 4, 3, 1500, true},  // live
      {"slv000000000002", "veth", 5, 3, 1500, true},  // orphan
      {"slvdummy", "dummy", 6, 0, 1500, false},       // our prefix, not a veth
      {"veth1234", "veth", 7, 0, 1500, true},         // docker's
  };
  auto orphans = orphan_veths(links, {"slv000000000001"});
  EXPECT_EQ(orphans, std::vector<std::string>{"slv000000000002"});
  EXPECT_TRUE(orphan_veths(links, {"slv000000000001", "slv000000000002"}).empty());
  EXPECT_EQ(orphan_veths(links, {}, "veth"), std::vector<std::string>{"veth1234"});
}

TEST(RemoveOrphanVeths, RefusesAnEmptyPrefix) {
  auto r = remove_orphan_veths({}, "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("empty prefix"), std::string::npos);
}

}  // namespace
}  // namespace slipway::netns
