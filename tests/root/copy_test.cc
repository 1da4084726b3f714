// `slipway cp` as Docker's: both ways, running and stopped containers, directories and their
// contents, and a container's symlinks that point out of it or into kernel file systems.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

namespace stdfs = std::filesystem;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CopyTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
    host_ = std::make_unique<TempDir>("slipway-cp-host");
    stdfs::create_directories(h("tree/sub"));
    std::ofstream(h("tree/a")) << "a\n";
    std::ofstream(h("tree/sub/b")) << "b\n";
    stdfs::create_symlink("a", h("tree/link"));
    std::ofstream(h("file")) << "file\n";
    ::chmod(h("file").c_str(), 0750);
    ::chown(h("file").c_str(), 1234, 1234);
  }
  std::string h(const std::string& rel) const { return host_->path() + "/" + rel; }
  std::string in_container(const std::string& name, const std::string& script) {
    auto r = slipway({"exec", name, "sh", "-c", script});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  std::unique_ptr<TempDir> host_;
};

TEST_F(CopyTest, IntoAndOutOfARunningContainerAsDocker) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "c", "busybox", "sleep", "60"}).exit_code, 0);
  // By exec, not by the container's command: `run -d` returns once PID 1 runs, maybe before a
  // mkdir of its script did.
  ASSERT_EQ(slipway({"exec", "c", "mkdir", "/data"}).exit_code, 0);
  EXPECT_EQ(slipway({"cp", h("file"), "c:/data/"}).exit_code, 0);          // into a directory
  EXPECT_EQ(slipway({"cp", h("file"), "c:/data/renamed"}).exit_code, 0);   // as a new name
  EXPECT_EQ(slipway({"cp", h("tree"), "c:/data"}).exit_code, 0);           // a directory, under its name
  EXPECT_EQ(slipway({"cp", h("tree/."), "c:/data/flat"}).exit_code, 0);    // its contents
  EXPECT_EQ(slipway({"cp", "-a", h("file"), "c:/data/kept"}).exit_code, 0);
  EXPECT_EQ(in_container("c", "cd /data && find . | sort && readlink tree/link && cat tree/sub/b && "
                              "stat -c '%a %u:%g' file kept"),
            ".\n./file\n./flat\n./flat/a\n./flat/link\n./flat/sub\n./flat/sub/b\n./kept\n./renamed\n./tree\n"
            "./tree/a\n./tree/link\n./tree/sub\n./tree/sub/b\na\nb\n750 0:0\n750 1234:1234\n");
  // And out again.
  EXPECT_EQ(slipway({"cp", "c:/data/tree", h("out")}).exit_code, 0);
  EXPECT_EQ(read(h("out/sub/b")), "b\n");
  EXPECT_TRUE(stdfs::is_symlink(h("out/link")));
  EXPECT_EQ(slipway({"cp", "c:/data/file", h("out/")}).exit_code, 0);
  EXPECT_EQ(read(h("out/file")), "file\n");
  EXPECT_EQ(slipway({"rm", "-f", "c"}).exit_code, 0);
}

TEST_F(CopyTest, AStoppedContainersFilesAreThereToo) {
  ASSERT_EQ(slipway({"run", "--name", "s", "busybox", "sh", "-c", "echo made-inside > /made"}).exit_code, 0);
  EXPECT_EQ(slipway({"cp", "s:/made", h("made")}).exit_code, 0);
  EXPECT_EQ(read(h("made")), "made-inside\n");
  EXPECT_EQ(slipway({"cp", h("file"), "s:/given"}).exit_code, 0);
  ASSERT_EQ(slipway({"start", "s"}).exit_code, 0) << "the copy leaves the layer mountable";
  EXPECT_EQ(slipway({"wait", "s"}).out, "0\n");
  ASSERT_EQ(slipway({"run", "-d", "--name", "again", "busybox", "sleep", "60"}).exit_code, 0);
  EXPECT_EQ(mounts_containing(root()), std::vector<std::string>{}) << "the stopped container's mount is gone";
  EXPECT_EQ(slipway({"rm", "-f", "s", "again"}).exit_code, 0);
}

TEST_F(CopyTest, SymlinksOfTheContainerNeverLeadOutOrIntoKernelFileSystems) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "evil", "busybox", "sleep", "60"}).exit_code, 0);
  ASSERT_EQ(slipway({"exec", "evil", "sh", "-c",
                     "ln -s /../../../../tmp /up; ln -s /proc/sys/kernel /sysctl; ln -s /proc/1 /p1"})
                .exit_code, 0);
  std::string marker = "slipway-cp-escape-" + std::to_string(::getpid());
  EXPECT_EQ(slipway({"cp", h("file"), "evil:/up/" + marker}).exit_code, 0);
  EXPECT_FALSE(stdfs::exists("/tmp/" + marker)) << "written on the host";
  EXPECT_EQ(in_container("evil", "cat /tmp/" + marker), "file\n") << "the link resolves inside the container";
  auto sysctl = slipway({"cp", h("file"), "evil:/sysctl/core_pattern"});
  EXPECT_EQ(sysctl.exit_code, 125);
  EXPECT_NE(sysctl.err.find("kernel file system"), std::string::npos) << sysctl.err;
  auto out = slipway({"cp", "evil:/p1/environ", h("environ")});
  EXPECT_EQ(out.exit_code, 125);
  EXPECT_FALSE(stdfs::exists(h("environ")));
  EXPECT_EQ(slipway({"rm", "-f", "evil"}).exit_code, 0);
}

TEST_F(CopyTest, BadInputsGetOneClearLine) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "c", "busybox", "sleep", "60"}).exit_code, 0);
  EXPECT_EQ(slipway({"cp", h("file"), h("other")}).err,
            "slipway: error: cp: exactly one of SRC and DEST must be CONTAINER:PATH (host to container or container to host)\n");
  auto missing = slipway({"cp", "c:/no/such", h("x")});
  EXPECT_EQ(missing.exit_code, 125);
  EXPECT_NE(missing.err.find("/no"), std::string::npos) << missing.err;
  auto dir_on_file = slipway({"cp", h("tree"), "c:/etc/passwd"});
  EXPECT_EQ(dir_on_file.err, "slipway: error: cannot copy directory " + h("tree") + " onto file /etc/passwd\n");
  EXPECT_NE(slipway({"cp", h("file"), "nope:/x"}).err.find("nope"), std::string::npos);
  EXPECT_EQ(slipway({"rm", "-f", "c"}).exit_code, 0);
}

}  // namespace
}  // namespace slipway::testing
