// examples/hello-app, the CI demo's application: its unit tests run inside the build (a failing
// one fails it), the final stage is the stripped image (busybox's binary and the site only), and
// that image serves the page: checked from a second container sharing its network namespace.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

using nlohmann::json;

class BuildExampleTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
    app_ = source_dir() + "/examples/hello-app";
  }
  std::string app_;
};

TEST_F(BuildExampleTest, StrippedImageServesThePage) {
  auto full = slipway(
      {"build", "-t", "hello-app:full", "--target", "full", "--build-arg", "VERSION=1.2", app_});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_NE(full.out.find("ok   fills in the version"), std::string::npos)
      << "the unit tests ran in the build: " << full.out;
  auto stripped = slipway({"build", "-t", "hello-app:1.2", "--build-arg", "VERSION=1.2", app_});
  ASSERT_EQ(stripped.exit_code, 0) << stripped.err;
  EXPECT_NE(stripped.err.find("CACHED [build 5/6] RUN |1 VERSION=1.2 /bin/sh -c sh test/unit.sh"),
            std::string::npos)
      << stripped.err;

  auto j = json::parse(slipway({"image", "inspect", "hello-app:1.2"}).out)[0];
  EXPECT_EQ(j["Config"]["User"], "65534:65534");
  EXPECT_EQ(j["Config"]["Entrypoint"],
            json::array({"/bin/httpd", "-f", "-p", "8080", "-h", "/srv/www"}));
  EXPECT_EQ(j["RootFS"]["Layers"].size(), 2u) << "FROM scratch + two COPY layers";
  // Only the binary and the site: find the files through the debugging image's tools.
  auto files = slipway({"run", "--rm", "--entrypoint", "/bin/httpd", "hello-app:1.2", "--help"});
  EXPECT_NE(files.err.find("Usage: httpd"), std::string::npos) << files.out << files.err;

  auto server = slipway({"run", "-d", "--name", "hello", "hello-app:1.2"});
  ASSERT_EQ(server.exit_code, 0) << server.err;
  std::string page;
  for (int i = 0; i < 50 && page.find("version 1.2") == std::string::npos; ++i) {
    page = slipway({"run", "--rm", "--net", "container:hello", "hello-app:full", "wget", "-qO-",
                    "http://127.0.0.1:8080/"})
               .out;
    if (page.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(page.find("<p>version 1.2</p>"), std::string::npos) << page;
  EXPECT_EQ(slipway({"rm", "-f", "hello"}).exit_code, 0);
}

TEST_F(BuildExampleTest, AFailingUnitTestFailsTheBuild) {
  TempDir copy("slipway-hello-app");
  std::filesystem::copy(
      app_, copy.path(),
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  // Break the renderer: the version is no longer filled in.
  ASSERT_TRUE(fs::write_file(copy.path() + "/bin/render", "#!/bin/sh\ncat\n"));
  auto r = slipway({"build", "-t", "hello-app:broken", copy.path()});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.out.find("FAIL fills in the version"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("slipway: error: Dockerfile:12: RUN exited with code 1"), std::string::npos)
      << r.err;
  EXPECT_EQ(slipway({"image", "inspect", "hello-app:broken"}).exit_code, 125);
}

}  // namespace
}  // namespace slipway::testing
