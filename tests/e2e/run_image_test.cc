// `slipway run IMAGE`: the image's config shapes the container, writes stay in the container's own
// upper layer, the runtime binary stays out of reach.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

using nlohmann::json;

class RunImageTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
  }
};

TEST_F(RunImageTest, ImageConfigGivesCommandEnvAndUser) {
  // busybox's config: Cmd ["sh"], PATH set; sh reads the command from stdin.
  auto r = slipway({"run", "--rm", "busybox"}, "echo $PATH; id -un\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nroot\n");
  auto nobody = slipway({"run", "--rm", "-u", "nobody", "busybox", "id", "-u"});
  EXPECT_EQ(nobody.out, "65534\n") << nobody.err;
}

TEST_F(RunImageTest, WritesStayInTheContainer) {
  auto w = slipway({"run", "--rm", "busybox", "sh", "-c", "echo changed > /etc/motd; rm /bin/ls; cat /etc/motd"});
  EXPECT_EQ(w.out, "changed\n") << w.err;
  auto r = slipway({"run", "--rm", "busybox", "sh", "-c", "cat /etc/motd 2>/dev/null || echo none; ls / >/dev/null && echo ls-ok"});
  EXPECT_EQ(r.out, "none\nls-ok\n") << r.err;
}

TEST_F(RunImageTest, RuntimeBinaryIsNotReachableFromInside) {
  // Every process the container can see runs a binary of the image, never the host's slipway.
  auto start = slipway({"run", "-d", "--name", "c", "busybox", "sleep", "30"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  auto r = slipway({"exec", "c", "sh", "-c", "for p in /proc/[0-9]*; do readlink $p/exe; done"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("slipway"), std::string::npos) << r.out;
  EXPECT_EQ(slipway({"rm", "-f", "c"}).exit_code, 0);
}

TEST_F(RunImageTest, UnknownImageAndBadCommand) {
  auto r = slipway({"run", "--rm", "nosuchimage", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("nosuchimage"), std::string::npos) << r.err;
  auto c = slipway({"run", "--rm", "busybox", "/nonexistent"});
  EXPECT_EQ(c.exit_code, 127);
  EXPECT_NE(c.err.find("/nonexistent"), std::string::npos) << c.err;
  EXPECT_EQ(slipway({"ps", "-a", "-q"}).out, "");
}

TEST_F(RunImageTest, ManyContainersShareOneUnpackedLayer) {
  for (int i = 0; i < 3; ++i) {
    auto r = slipway({"run", "-d", "--name", "s" + std::to_string(i), "busybox", "sleep", "30"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::set<std::string> lowers;
  for (int i = 0; i < 3; ++i) {
    auto j = json::parse(slipway({"inspect", "s" + std::to_string(i)}).out);
    lowers.insert(j[0]["spec"]["rootfs"]["lower_dirs"].dump());
  }
  EXPECT_EQ(lowers.size(), 1u);
  EXPECT_EQ(slipway({"rm", "-f", "s0", "s1", "s2"}).exit_code, 0);
}

}  // namespace
}  // namespace slipway::testing
