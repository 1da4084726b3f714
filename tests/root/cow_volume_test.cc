// Copy-on-write volumes (`-v SRC:DST:O`): the container writes to a private overlay upper dir, the
// host directory (a "snapshot") never changes, and every new container sees it as it is.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

namespace stdfs = std::filesystem;

// Everything about a tree that a write through the volume could change: names, types, modes,
// owners, sizes, mtimes, contents and link targets.
std::map<std::string, std::string> tree_state(const std::string& dir) {
  std::map<std::string, std::string> state;
  auto record = [&](const stdfs::path& p) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    std::ostringstream s;
    s << std::oct << st.st_mode << std::dec << ' ' << st.st_uid << ':' << st.st_gid << ' '
      << st.st_size << ' ' << st.st_mtim.tv_sec << '.' << st.st_mtim.tv_nsec << ' ' << st.st_nlink;
    if (S_ISREG(st.st_mode)) s << ' ' << std::ifstream(p).rdbuf();
    if (S_ISLNK(st.st_mode)) s << " -> " << stdfs::read_symlink(p).string();
    state[stdfs::relative(p, dir).string()] = s.str();
  };
  record(dir);
  for (const auto& e : stdfs::recursive_directory_iterator(dir)) record(e.path());
  return state;
}

class CowVolumeTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    rootfs_ = root() + "/rootfs";
    for (auto d : {"bin", "etc", "tmp", "proc", "sys", "dev"})
      stdfs::create_directories(rootfs_ + "/" + d);
    stdfs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    for (auto applet :
         {"sh", "cat", "ls", "echo", "rm", "mkdir", "touch", "grep", "id", "sleep", "wc"})
      stdfs::create_symlink("busybox", rootfs_ + "/bin/" + applet);
    std::ofstream(rootfs_ + "/etc/passwd")
        << "root:x:0:0:root:/root:/bin/sh\nredis:x:999:999::/data:/bin/sh\n";
    std::ofstream(rootfs_ + "/etc/group") << "root:x:0:\nredis:x:999:\n";

    snapshot_ = root() + "/snapshot";
    stdfs::create_directories(snapshot_ + "/sub");
    std::ofstream(snapshot_ + "/dump.rdb") << "REDIS0011 original data\n";
    std::ofstream(snapshot_ + "/doomed") << "delete me\n";
    std::ofstream(snapshot_ + "/sub/nested") << "nested\n";
    stdfs::create_symlink("dump.rdb", snapshot_ + "/link");
    host_mounts_ = host_mounts_outside_test_dirs();
  }

  void TearDown() override {
    if (!IsSkipped()) {
      EXPECT_EQ(host_mounts_outside_test_dirs(), host_mounts_) << "host mount table changed";
      for (const std::string& own : {root(), run_root()})
        EXPECT_TRUE(mounts_containing(own).empty()) << "a mount is left under " << own;
    }
    RootTest::TearDown();
  }

  CommandResult run(std::vector<std::string> flags, const std::string& script) {
    std::vector<std::string> args = {"run", "--rm", "--rootfs", rootfs_};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"sh", "-c", script});
    return slipway(args);
  }

  std::string rootfs_;
  std::string snapshot_;
  std::vector<std::string> host_mounts_;
};

TEST_F(CowVolumeTest, WritesGoToAPrivateCopyAndTheSnapshotNeverChanges) {
  auto before = tree_state(snapshot_);
  auto r = run({"-v", snapshot_ + ":/data:O"},
               "echo appended >>/data/dump.rdb && rm /data/doomed && touch /data/new && "
               "mkdir /data/newdir && echo changed >/data/sub/nested && rm /data/link && "
               "cat /data/dump.rdb && ls /data && grep ' /data ' /proc/mounts");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find("overlay")),
            "REDIS0011 original data\nappended\ndump.rdb\nnew\nnewdir\nsub\n");
  EXPECT_NE(r.out.find("overlay /data overlay rw"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lowerdir=" + snapshot_), std::string::npos) << r.out;
  EXPECT_EQ(tree_state(snapshot_), before) << "the snapshot was modified";

  // A second container starts from the snapshot as it is, not from the first one's writes.
  auto again = run({"-v", snapshot_ + ":/data:O"},
                   "cat /data/dump.rdb /data/doomed /data/sub/nested; ls /data");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "REDIS0011 original data\ndelete me\nnested\ndoomed\ndump.rdb\nlink\nsub\n");
  EXPECT_EQ(tree_state(snapshot_), before);
  // The private copies went with the containers.
  EXPECT_EQ(slipway({"ps", "-a", "-q"}).out, "");
}

TEST_F(CowVolumeTest, DetachedContainerWritesStayPrivate) {
  auto r = slipway({"run", "-d", "--name", "live", "--rootfs", rootfs_, "-v",
                    snapshot_ + ":/data:O", "sh", "-c", "echo mine >/data/doomed; sleep 30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Read through exec: the copy-up of "doomed" is the container's; the snapshot keeps its own.
  std::string out;
  for (int i = 0; i < 50 && out != "mine\n"; ++i) {
    out = slipway({"exec", "live", "cat", "/data/doomed"}).out;
    if (out != "mine\n") ::usleep(100'000);
  }
  EXPECT_EQ(out, "mine\n");
  std::ifstream host(snapshot_ + "/doomed");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(host), {}), "delete me\n");
  auto rm = slipway({"rm", "-f", "live"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
}

TEST_F(CowVolumeTest, UnprivilegedUserCanWriteWhenTheSnapshotIsTheirs) {
  // The overlay's root dir takes its owner and mode from the upper dir, so it must copy the
  // snapshot's; a root-owned upper would lock out the redis user of a redis snapshot.
  ASSERT_EQ(::chown(snapshot_.c_str(), 999, 999), 0);
  ASSERT_EQ(::chmod(snapshot_.c_str(), 0750), 0);
  auto before = tree_state(snapshot_);
  auto r =
      run({"--user", "999", "-v", snapshot_ + ":/data:O"},
          "id -u && touch /data/written && ls -lnd /data | grep -c '^drwxr-x--- .* 999 *999 '");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "999\n1\n") << r.err;
  EXPECT_EQ(tree_state(snapshot_), before);
}

TEST_F(CowVolumeTest, BadSourcesAndModesGetClearErrors) {
  auto missing = run({"-v", root() + "/no-such-snapshot:/data:O"}, "true");
  EXPECT_EQ(missing.exit_code, 125);
  EXPECT_NE(missing.err.find("no-such-snapshot"), std::string::npos) << missing.err;
  EXPECT_FALSE(stdfs::exists(root() + "/no-such-snapshot"))
      << "a copy-on-write source is never created";

  auto file = run({"-v", snapshot_ + "/dump.rdb:/data:O"}, "true");
  EXPECT_EQ(file.exit_code, 125);
  EXPECT_NE(file.err.find("dump.rdb: not a directory"), std::string::npos) << file.err;

  auto ro = run({"-v", snapshot_ + ":/data:ro,O"}, "true");
  EXPECT_EQ(ro.exit_code, 125);
  EXPECT_NE(ro.err.find("read-only"), std::string::npos) << ro.err;

  EXPECT_EQ(slipway({"ps", "-a", "-q"}).out, "");
}

TEST_F(CowVolumeTest, SymlinkInImageCannotRedirectTheOverlayToTheHost) {
  // Hostile image: /data points at the host's /etc, /cache at some other host directory. Both
  // resolve inside the rootfs, so the overlays land on the rootfs's own /etc and /outside.
  TempDir outside;
  stdfs::create_symlink("/etc", rootfs_ + "/data");
  stdfs::create_symlink(outside.path(), rootfs_ + "/cache");
  std::ofstream(snapshot_ + "/slipway-cow-marker") << "marker\n";
  auto before = tree_state(snapshot_);
  auto r = run({"-v", snapshot_ + ":/data:O", "-v", snapshot_ + ":/cache:O"},
               "cat /etc/slipway-cow-marker && cat /data/slipway-cow-marker && "
               "cat /cache/slipway-cow-marker && touch /data/through-symlink");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "marker\nmarker\nmarker\n");
  EXPECT_FALSE(stdfs::exists("/etc/slipway-cow-marker"))
      << "the overlay was mounted on the host's /etc";
  EXPECT_FALSE(stdfs::exists("/etc/through-symlink"));
  EXPECT_TRUE(stdfs::is_empty(outside.path())) << "the overlay was mounted through the symlink";
  EXPECT_EQ(tree_state(snapshot_), before);
}

TEST_F(CowVolumeTest, WorksOnAnImageRootfs) {
  load_busybox();
  auto before = tree_state(snapshot_);
  auto r = slipway({"run", "--rm", "-v", snapshot_ + ":/data:O", "busybox", "sh", "-c",
                    "echo x >>/data/dump.rdb && wc -l </data/dump.rdb"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2\n");
  EXPECT_EQ(tree_state(snapshot_), before);
}

}  // namespace
}  // namespace slipway::testing
