// Host veth names: the one gc derives from a container id is always a valid ifname. gc's removal
// of dead containers' veths is tested for real in tests/root/netns_veth_test.cc.
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

}  // namespace
}  // namespace slipway::netns
