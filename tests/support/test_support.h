// Shared helpers for root and e2e tests: a private slipway root per test, running the binary,
// and leak checks (mounts, cgroups, processes) after each test.
#pragma once

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace slipway::testing {

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Runs argv (argv[0] looked up in PATH) with optional stdin, capturing stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          const std::vector<std::string>& extra_env = {});

// Text helpers for command output.
std::vector<std::string> split_lines(const std::string& text);  // non-empty lines
std::string last_line(const std::string& text);                  // trailing newlines ignored
int count(const std::string& text, const std::string& needle);   // occurrences, overlaps too

bool is_root();
std::string slipway_binary();
std::string probe_binary();
std::string source_dir();
// The OCI layout of the busybox test image made by scripts/mkimage-busybox.
std::string busybox_layout();
// The OCI layout of the redis test image (slipway/redis) made by scripts/mkimage-redis.
std::string redis_layout();
// The OCI layout of the python test image (slipway/python) made by scripts/mkimage-python.
std::string python_layout();
// ../shared next to the repository, or "" when absent.
std::string shared_dir();

// A fresh temporary directory removed (never across mounts) at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "slipway-test", const std::string& base = "");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Fixture for tests that need root: a private slipway root, skip (with the reason) when not root,
// and a check at teardown that nothing made under that root is left mounted, in a cgroup or
// running. The cgroup check looks only at slipway/<id> cgroups of containers recorded in this
// test's run root (an inotify watch on its container store sees every record, even one removed
// before teardown), so tests running in parallel never see each other's.
class RootTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Runs `slipway --root <root> args...`.
  CommandResult slipway(const std::vector<std::string>& args, const std::string& input = "");
  // Loads the busybox test image into this test's root as busybox:latest.
  void load_busybox();
  const std::string& root() const { return root_->path(); }
  const std::string& run_root() const { return run_root_->path(); }

 private:
  // Ids of the containers recorded in this test's run root so far.
  std::set<std::string> containers_seen();

  std::unique_ptr<TempDir> root_;
  std::unique_ptr<TempDir> run_root_;  // on /dev/shm, like slipway's default
  UniqueFd store_watch_;               // inotify on <run root>/containers
  std::set<std::string> ids_seen_;
};

// Mount points whose path contains `needle`, from /proc/self/mountinfo.
std::vector<std::string> mounts_containing(const std::string& needle);
// The host's mount points without those in /tmp and /var/tmp, where tests running beside the
// caller keep theirs (containerd's snapshots, Podman's storage): compare before and after a test,
// and check the test's own directories apart.
std::vector<std::string> host_mounts_outside_test_dirs();
// cgroup directories (any hierarchy) whose path contains `needle`.
std::vector<std::string> cgroups_containing(const std::string& needle);
// Removes the empty cgroup directories whose path contains `needle`, deepest first (parents a
// test's containers had, which the runtime leaves to their owner).
void remove_empty_cgroups(const std::string& needle);
// The slipway/<id> cgroup directories (any hierarchy, with their descendants) of these container
// ids.
std::vector<std::string> container_cgroups(const std::set<std::string>& ids);
// Pids of processes whose command line contains `needle`.
std::vector<int> processes_containing(const std::string& needle);

}  // namespace slipway::testing
