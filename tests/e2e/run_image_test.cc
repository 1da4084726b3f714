// `slipway run IMAGE`: the image's config shapes the container, writes stay in the container's own
// upper layer, the runtime binary stays out of reach.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/fs.h"
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
  auto r = slipway({"run", "--rm", "-i", "busybox"}, "echo $PATH; id -un\n");
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

TEST_F(RunImageTest, PruneCommandsRemoveWhatNothingUsesAsDockers) {
  TempDir rootfs("slipway-prune-rootfs");
  ASSERT_TRUE(fs::write_file(rootfs.path() + "/one", std::string(100000, 'x')));
  ASSERT_EQ(slipway({"image", "import", rootfs.path(), "junk:1"}).exit_code, 0);
  ASSERT_TRUE(fs::write_file(rootfs.path() + "/two", "2"));
  ASSERT_EQ(slipway({"image", "import", rootfs.path(), "junk:1"}).exit_code, 0);  // the first loses its name
  ASSERT_TRUE(fs::write_file(rootfs.path() + "/three", "3"));
  ASSERT_EQ(slipway({"image", "import", rootfs.path(), "spare:1"}).exit_code, 0);
  ASSERT_EQ(slipway({"run", "--name", "stopped", "--net", "none", "busybox", "true"}).exit_code, 0);
  ASSERT_EQ(slipway({"network", "create", "unused", "--subnet", "10.251.7.0/24"}).exit_code, 0);
  auto images = [&] { return slipway({"image", "ls", "-q"}).out; };
  auto count_lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  ASSERT_EQ(count_lines(images()), 4) << images();

  // Asked first: anything but y keeps everything.
  auto declined = slipway({"image", "prune"}, "n\n");
  EXPECT_EQ(declined.exit_code, 0);
  EXPECT_NE(declined.err.find("Are you sure you want to continue? [y/N]"), std::string::npos) << declined.err;
  EXPECT_EQ(count_lines(images()), 4);

  auto dangling = slipway({"image", "prune"}, "y\n");
  ASSERT_EQ(dangling.exit_code, 0) << dangling.err;
  EXPECT_TRUE(dangling.out.starts_with("Deleted Images:\ndeleted: sha256:")) << dangling.out;
  EXPECT_NE(dangling.out.find("Total reclaimed space: "), std::string::npos) << dangling.out;
  EXPECT_EQ(count_lines(images()), 3);

  // -a: every image no container was made from; busybox has the stopped container.
  auto all = slipway({"image", "prune", "-a", "-f"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("untagged: junk:1"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("untagged: spare:1"), std::string::npos) << all.out;
  EXPECT_NE(slipway({"image", "ls"}).out.find("busybox"), std::string::npos);
  EXPECT_EQ(count_lines(images()), 1);

  // A build leaves cache entries; builder prune -a takes them, system prune the rest.
  TempDir context("slipway-prune-context");
  ASSERT_TRUE(fs::write_file(context.path() + "/Dockerfile", "FROM busybox\nRUN echo built > /built\n"));
  ASSERT_EQ(slipway({"build", "--network", "none", "-q", "-t", "built:1", context.path()}).exit_code, 0);
  auto cache = slipway({"builder", "prune", "-a", "-f"});
  ASSERT_EQ(cache.exit_code, 0) << cache.err;
  EXPECT_NE(cache.out.find("Deleted build cache objects:\nsha256:"), std::string::npos) << cache.out;

  auto system = slipway({"system", "prune", "-a", "-f"});
  ASSERT_EQ(system.exit_code, 0) << system.err;
  EXPECT_NE(system.out.find("Deleted Containers:\n"), std::string::npos) << system.out;
  EXPECT_NE(system.out.find("Deleted Networks:\nunused\n"), std::string::npos) << system.out;
  EXPECT_EQ(slipway({"ps", "-aq"}).out, "");
  EXPECT_EQ(images(), "");
  EXPECT_EQ(fs::list_dir(root() + "/layers").value_or(std::vector<std::string>{"?"}), std::vector<std::string>{});
}

// What bash offers after sourcing completion/slipway.bash, for a line ending in `words`.
std::vector<std::string> complete_line(const std::vector<std::string>& words) {
  std::string array;
  for (const auto& w : words) array += " '" + w + "'";
  auto r = run_command({"bash", "-c",
                        "source " + source_dir() + "/completion/slipway.bash; COMP_WORDS=(" + array +
                            "); COMP_CWORD=" + std::to_string(words.size() - 1) +
                            "; _slipway; printf '%s\\n' \"${COMPREPLY[@]}\""});
  std::vector<std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(RunImageTest, BashCompletionOffersCommandsFlagsAndNames) {
  ASSERT_EQ(slipway({"run", "--name", "finished-job", "--net", "none", "busybox", "true"}).exit_code, 0);
  std::vector<std::string> base = {slipway_binary(), "--root", root(), "--run-root", run_root()};
  auto line = [&](std::vector<std::string> words) {
    std::vector<std::string> all = base;
    all.insert(all.end(), words.begin(), words.end());
    return complete_line(all);
  };
  EXPECT_EQ(line({"im"}), (std::vector<std::string>{"image", "images"}));
  EXPECT_EQ(line({"image", "pr"}), std::vector<std::string>{"prune"});
  EXPECT_EQ(line({"ps", "--fil"}), std::vector<std::string>{"--filter"});
  EXPECT_EQ(line({"rm", "fin"}), std::vector<std::string>{"finished-job"});
  EXPECT_EQ(line({"run", "--rm", "busy"}), std::vector<std::string>{"busybox:latest"});
  EXPECT_EQ(line({"run", "--net", "ho"}), std::vector<std::string>{"host"});
  EXPECT_EQ(line({"build", "--pull", "n"}), std::vector<std::string>{"never"});
  // Every sub-command of the binary is offered: the lists come from its own help.
  auto top = line({""});
  for (const char* sub : {"run", "ps", "build", "pipeline", "network", "system", "builder", "login"})
    EXPECT_NE(std::find(top.begin(), top.end(), sub), top.end()) << sub;
  EXPECT_EQ(slipway({"rm", "finished-job"}).exit_code, 0);
}

}  // namespace
}  // namespace slipway::testing
