// Regression tests for the holes an adversarial pass found: host fds handed to containers, a store
// open to other users, repository paths that read host files, bytes that wedged a name.
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include <fstream>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

class HardeningTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
  }
  // Where a container keeps its writable layer and logs.
  std::string data_dir_of(const std::string& name) {
    auto doc = nlohmann::json::parse(slipway({"inspect", name}).out, nullptr, false);
    return doc.is_array() ? doc[0].value("data_dir", "") : "";
  }
  // `slipway ...` through a shell, for redirections the container must not get hold of.
  CommandResult shell(const std::string& slipway_args, const std::string& redirect) {
    std::string cmd = slipway_binary() + " --root " + root() + " --run-root " + run_root() + " " +
                      slipway_args + " " + redirect;
    return run_command({"sh", "-c", cmd});
  }
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST_F(HardeningTest, HostFileGivenAsStdoutCannotBeRewrittenOrSetuid) {
  TempDir dir;
  std::string log = dir.path() + "/v.log";
  ASSERT_TRUE(fs::write_file(log, "hello\n", 0644));
  auto r = shell(R"(run --rm busybox sh -c 'chmod 4755 /proc/$$/fd/1; printf X 1<>/proc/$$/fd/1; echo out')",
                 ">> " + log);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(mode_of(log), 0644u);
  // What the container wrote arrives, appended by the runtime; the host file's bytes are intact.
  EXPECT_EQ(fs::read_file(log).value_or(""), "hello\nXout\n");
}

TEST_F(HardeningTest, EveryContainerStdioIsAPipe) {
  std::string probe = "for f in 0 1 2; do readlink /proc/self/fd/$f; done";
  auto fg = shell("run --rm busybox sh -c '" + probe + "'", "< /dev/null 2>&1");
  EXPECT_EQ(count(fg.out, "pipe:"), 3) << fg.out;
  ASSERT_EQ(slipway({"run", "-d", "--name", "d", "busybox", "sleep", "30"}).exit_code, 0);
  auto ex = shell("exec d sh -c '" + probe + "'", "< /dev/null 2>&1");
  EXPECT_EQ(count(ex.out, "pipe:"), 3) << ex.out;
  auto d = slipway({"exec", "d", "sh", "-c", "for f in 0 1 2; do readlink /proc/1/fd/$f; done"});
  EXPECT_EQ(count(d.out, "pipe:"), 3) << d.out;
  EXPECT_EQ(slipway({"rm", "-f", "d"}).exit_code, 0);
}

TEST_F(HardeningTest, StoreAndRunRootAreClosedToOtherUsers) {
  ASSERT_EQ(slipway({"run", "--rm", "busybox", "true"}).exit_code, 0);
  EXPECT_EQ(mode_of(root()) & 077, 0u) << std::oct << mode_of(root());
  EXPECT_EQ(mode_of(root() + "/layers") & 077, 0u);
  EXPECT_EQ(mode_of(run_root()) & 077, 0u);
  // nobody can reach no unpacked file (a setuid one would give it root).
  auto ls = run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "ls", root() + "/layers"});
  EXPECT_NE(ls.exit_code, 0) << ls.out;
}

TEST_F(HardeningTest, ASymlinkedDockerfileIsNotFollowedOutOfTheContext) {
  TempDir secret, context;
  ASSERT_TRUE(fs::write_file(secret.path() + "/shadow", "root:SECRET-HASH:1:0:::\n"));
  ASSERT_EQ(::symlink((secret.path() + "/shadow").c_str(), (context.path() + "/Dockerfile").c_str()), 0);
  auto r = slipway({"build", "-t", "x", context.path()});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_EQ(r.err.find("SECRET"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Dockerfile"), std::string::npos) << r.err;
  EXPECT_EQ(count(r.err, "\n"), 1) << r.err;
}

TEST_F(HardeningTest, NonUtf8BytesRoundTripAndNeverWedgeAName) {
  auto r = slipway({"run", "--rm", "--name", "keepme", "busybox", "echo", "\xff"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\xff\n");
  EXPECT_EQ(slipway({"run", "--rm", "--name", "keepme", "busybox", "true"}).exit_code, 0);
  auto e = slipway({"run", "--name", "k2", "-e", "A=\xfe", "-w", "/tmp/\xfd", "busybox", "sh", "-c", "echo $A; pwd"});
  EXPECT_EQ(e.out, "\xfe\n/tmp/\xfd\n") << e.err;
  auto inspect = slipway({"inspect", "k2"});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  auto doc = nlohmann::json::parse(inspect.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << inspect.out;
  EXPECT_EQ(slipway({"rm", "k2"}).exit_code, 0);
}

TEST_F(HardeningTest, DetachedLogsAreWrittenByTheRuntimeAndCapped) {
  // About 140 kB of output in bursts of 7 kB, with room for 3 files of 16 kB: the newest lines
  // stay, in order.
  auto r = slipway({"run", "-d", "--name", "chatty", "--log-opt", "max-size=16k", "--log-opt", "max-file=3",
                    "busybox", "sh", "-c",
                    "i=0; while [ $i -lt 4000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); "
                    "[ $((i % 200)) = 0 ] && sleep 0.05; done; true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Followed while the files rotate, every line arrives once and in order.
  auto followed = slipway({"logs", "-f", "chatty"});
  auto lines = split_lines(followed.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "line-3999-padding-padding-padding");
  EXPECT_EQ(lines.front(), "line-0-padding-padding-padding") << "followed from the start";
  int first = 0;
  for (size_t i = 1; i < lines.size(); ++i)
    ASSERT_EQ(lines[i], fmt::format("line-{}-padding-padding-padding", first + static_cast<int>(i))) << i;
  auto logs = slipway({"logs", "chatty"});
  EXPECT_NE(logs.out.find("line-3999-"), std::string::npos);
  EXPECT_EQ(logs.out.find("line-10-"), std::string::npos) << "the oldest output was rotated away";
  EXPECT_LE(logs.out.size(), 3u * 16 * 1024);
  EXPECT_LT(logs.out.find("line-3998-"), logs.out.find("line-3999-"));
  std::string data_dir = data_dir_of("chatty");
  EXPECT_TRUE(fs::exists(data_dir + "/stdout.log.2")) << data_dir;
  EXPECT_FALSE(fs::exists(data_dir + "/stdout.log.3")) << "max-file=3";
  EXPECT_EQ(slipway({"rm", "chatty"}).exit_code, 0);
  auto bad = slipway({"run", "--rm", "--log-opt", "max-bytes=1", "busybox", "true"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_NE(bad.err.find("unknown --log-opt \"max-bytes=1\""), std::string::npos) << bad.err;
}

TEST_F(HardeningTest, AContainerCannotReopenTheRuntimeBinaryForWriting) {
  // The container's PID 1 may trace (and so open /proc/PID/exe of) what `exec` starts in it: it
  // predicts the pid of the next process, and holds that process's executable (slipway's, until
  // it execs the command) after the process has gone. Once no slipway process runs any more the
  // file is no longer busy: a writable binary could then be rewritten through that fd. A private
  // copy of the binary keeps other tests' slipway processes out of the picture.
  TempDir bin;
  std::string copy = bin.path() + "/slipway";
  ASSERT_EQ(run_command({"cp", slipway_binary(), copy}).exit_code, 0);
  auto with_copy = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {copy, "--root", root(), "--run-root", run_root()});
    return run_command(args);
  };
  std::string watcher =
      "true & n=$(( $! + 1 )); "
      "until { command exec 3</proc/$n/exe; } 2>/dev/null; do :; done; "
      "while [ -e /proc/$n/exe ]; do :; done; touch /held; sleep 60";
  ASSERT_EQ(with_copy({"run", "-d", "--name", "w", "--cap-add", "SYS_PTRACE", "busybox", "sh", "-c", watcher})
                .exit_code, 0);
  auto ex = with_copy({"exec", "w", "true"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  for (int i = 0; i < 100 && with_copy({"exec", "w", "test", "-e", "/held"}).exit_code != 0; ++i) ::usleep(20'000);
  auto doc = nlohmann::json::parse(with_copy({"inspect", "w"}).out, nullptr, false);
  ASSERT_TRUE(doc.is_array()) << "inspect w";
  int pid1 = doc[0]["state"]["pid"].get<int>();
  UniqueFd held(::open(fmt::format("/proc/{}/fd/3", pid1).c_str(), O_PATH | O_CLOEXEC));
  ASSERT_TRUE(held) << "the container never got hold of the binary: " << std::strerror(errno);
  ASSERT_EQ(with_copy({"rm", "-f", "w"}).exit_code, 0);
  // Opened for appending, not written: a failing check leaves the copy as it was.
  UniqueFd writable(::open(fmt::format("/proc/self/fd/{}", held.get()).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  int err = errno;
  EXPECT_FALSE(writable) << "the runtime binary can be rewritten from a container";
  EXPECT_EQ(err, EROFS) << std::strerror(err);
}

TEST_F(HardeningTest, WritableLayersAndLogsLiveOnDiskAndGoWithTheContainer) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "big", "busybox", "sh", "-c",
                     "dd if=/dev/zero of=/big bs=1M count=16 2>/dev/null && echo written; sleep 60"})
                .exit_code, 0);
  std::string data_dir = data_dir_of("big");
  ASSERT_TRUE(data_dir.starts_with(root() + "/containers/")) << data_dir;
  for (int i = 0; i < 200 && slipway({"logs", "big"}).out != "written\n"; ++i) ::usleep(20'000);
  EXPECT_TRUE(fs::exists(data_dir + "/upper/big"));
  EXPECT_TRUE(fs::exists(data_dir + "/stdout.log"));
  auto du = run_command({"du", "-sk", run_root()});
  EXPECT_LT(std::stol(du.out), 1024) << "the run root (RAM) holds only small state: " << du.out;
  EXPECT_EQ(mode_of(root() + "/containers") & 077, 0u);
  EXPECT_EQ(slipway({"rm", "-f", "big"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(data_dir));

  // A reboot empties the run root: gc then removes the data the records named.
  ASSERT_EQ(slipway({"run", "--name", "kept", "busybox", "touch", "/made"}).exit_code, 0);
  std::string kept = data_dir_of("kept");
  ASSERT_TRUE(fs::exists(kept + "/upper/made")) << kept;
  ASSERT_TRUE(fs::remove_tree(run_root() + "/containers"));
  auto gc = slipway({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed data of vanished container"), std::string::npos) << gc.out;
  EXPECT_FALSE(fs::exists(kept));
}

TEST_F(HardeningTest, StorageSizeLimitCapsTheWritableLayer) {
  auto r = slipway({"run", "--rm", "--storage-opt", "size=8m", "busybox", "sh", "-c",
                    "dd if=/dev/zero of=/big bs=1M count=20; echo small > /small && cat /small"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  auto ok = slipway({"run", "--rm", "--storage-opt", "size=8m", "busybox", "sh", "-c",
                     "dd if=/dev/zero of=/f bs=1M count=4 2>/dev/null && wc -c < /f"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "4194304\n");
  EXPECT_EQ(count(run_command({"findmnt", "-rn", "-o", "TARGET"}).out, root()), 0) << "nothing mounted on the host";
}

}  // namespace
}  // namespace slipway::testing
