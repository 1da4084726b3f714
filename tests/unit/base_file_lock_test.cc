// base/file_lock.h: the one flock wrapper the store, the networks, the git cache and deploys share.
// flock locks belong to an open file description, so two acquisitions in one process exclude each
// other just as two processes would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "base/file_lock.h"
#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway {
namespace {

using ::slipway::testing::TempDir;
using Mode = FileLock::Mode;

class FileLockTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name = "x.lock") const { return fs::join(dir_.path(), name); }
  // Whether someone holds the lock at path in `mode` right now, asked without waiting.
  bool free_for(Mode mode) {
    auto probe = FileLock::try_acquire(path(), mode, true);
    EXPECT_TRUE(probe) << probe.error().message();
    return probe && probe->has_value();
  }
  TempDir dir_{"slipway-file-lock"};
};

TEST_F(FileLockTest, ExclusiveExcludesAndSharedShares) {
  {
    auto held = FileLock::acquire(path());
    ASSERT_TRUE(held) << held.error().message();
    EXPECT_TRUE(held->held());
    EXPECT_FALSE(free_for(Mode::kExclusive));
    EXPECT_FALSE(free_for(Mode::kShared));
  }
  EXPECT_TRUE(free_for(Mode::kExclusive)) << "released when the object goes";
  auto a = FileLock::acquire(path(), Mode::kShared);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_TRUE(free_for(Mode::kShared));
  EXPECT_FALSE(free_for(Mode::kExclusive));
}

TEST_F(FileLockTest, TryWithoutCreateLeavesAMissingFileMissing) {
  auto r = FileLock::try_acquire(path(), Mode::kExclusive, false);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->has_value());
  EXPECT_FALSE(fs::exists(path()));
}

TEST_F(FileLockTest, FdLocksExcludePathLocks) {
  auto held = FileLock::acquire(path());
  ASSERT_TRUE(held);
  auto fd = fs::open_file(path(), O_RDWR);
  ASSERT_TRUE(fd);
  auto r = FileLock::try_acquire_fd(std::move(*fd), Mode::kExclusive, path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->has_value());
}

// A holder may delete its lock file (network rm); a waiter then starts over on a new file instead
// of holding a lock on the removed one alongside the next process.
TEST_F(FileLockTest, AWaiterWhoseFileWasRemovedStartsOverOnTheNewFile) {
  auto held = FileLock::acquire(path());
  ASSERT_TRUE(held);
  std::atomic<bool> got{false};
  ino_t waiter_ino = 0;
  std::thread waiter([&] {
    auto w = FileLock::acquire(path());
    ASSERT_TRUE(w) << w.error().message();
    struct stat st;
    ASSERT_EQ(::fstat(w->fd(), &st), 0);
    waiter_ino = st.st_ino;
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got) << "the waiter got in while the lock was held";
  ASSERT_TRUE(held->remove());
  EXPECT_FALSE(fs::exists(path()));
  *held = FileLock();
  waiter.join();
  EXPECT_TRUE(got);
  struct stat now;
  ASSERT_EQ(::stat(path().c_str(), &now), 0) << "the waiter made a new lock file";
  EXPECT_EQ(now.st_ino, waiter_ino) << "and holds that one, not the removed file";
}

TEST_F(FileLockTest, ASymlinkIsNotALockFile) {
  ASSERT_TRUE(fs::write_file(path("target"), ""));
  ASSERT_EQ(::symlink(path("target").c_str(), path().c_str()), 0);
  auto r = FileLock::acquire(path());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(path()), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace slipway
