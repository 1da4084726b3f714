#include "runtime/capabilities.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/fs.h"

namespace slipway::runtime {
namespace {

constexpr uint64_t bit(int cap) {
  return uint64_t{1} << cap;
}

int last_cap() {
  auto last = kernel_last_capability();
  EXPECT_TRUE(last.has_value()) << last.error().message();
  return last.value_or(0);
}

TEST(CapabilityFromName, AcceptsBareAndPrefixedNamesInAnyCase) {
  for (const char* name :
       {"NET_ADMIN", "CAP_NET_ADMIN", "cap_net_admin", "Net_Admin", "cAp_NeT_aDmIn"}) {
    auto cap = capability_from_name(name);
    ASSERT_TRUE(cap.has_value()) << name << ": " << cap.error().message();
    EXPECT_EQ(*cap, CAP_NET_ADMIN) << name;
  }
  EXPECT_EQ(capability_from_name("CHOWN").value_or(-1), CAP_CHOWN);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN").value_or(-1), CAP_SYS_ADMIN);
  EXPECT_EQ(capability_from_name("bpf").value_or(-1), CAP_BPF);
}

TEST(CapabilityFromName, RejectsUnknownNamesWithOneClearLine) {
  auto foo = capability_from_name("FOO");
  ASSERT_FALSE(foo.has_value());
  EXPECT_EQ(foo.error().message(), "unknown capability \"FOO\"");
  EXPECT_EQ(foo.error().code(), 0);

  // libcap would take numbers; "ALL" is a keyword of resolve_capabilities, not a capability.
  for (const char* bad : {"", "CAP_", "12", "CAP_12", "ALL", "NET ADMIN", "CAP_NET_ADMIN\n"}) {
    auto cap = capability_from_name(bad);
    EXPECT_FALSE(cap.has_value()) << "accepted \"" << bad << "\"";
    if (!cap) {
      EXPECT_EQ(cap.error().message(), fmt::format("unknown capability \"{}\"", bad));
    }
  }
}

TEST(CapabilityNames, DockerDefaultSetIsExactlyDockers) {
  // Docker's documented default set; a default container shows CapEff 00000000a80425fb.
  EXPECT_EQ(docker_default_capabilities(), uint64_t{0xa80425fb});
  EXPECT_EQ(capability_names(docker_default_capabilities()),
            (std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
                                      "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
                                      "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
                                      "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"}));
}

TEST(CapabilityNames, RoundTripsEveryKernelCapability) {
  const int last = last_cap();
  std::vector<std::string> names = capability_names(all_capabilities(last));
  ASSERT_EQ(names.size(), static_cast<size_t>(last + 1));
  for (int cap = 0; cap <= last; ++cap) {
    EXPECT_EQ(names[cap].rfind("CAP_", 0), 0u) << names[cap];
    EXPECT_EQ(capability_from_name(names[cap]).value_or(-1), cap) << names[cap];
  }
  EXPECT_EQ(capability_names(0), std::vector<std::string>{});
  EXPECT_EQ(capability_names(bit(63)), std::vector<std::string>{"CAP_63"});
}

TEST(KernelLastCapability, MatchesProcAndTheKernelsBoundingSet) {
  const int last = last_cap();
  auto text = fs::read_file("/proc/sys/kernel/cap_last_cap");
  ASSERT_TRUE(text.has_value()) << text.error().message();
  EXPECT_EQ(std::stoi(*text), last);
  // CAP_AUDIT_READ (37) exists since Linux 3.16.
  EXPECT_GE(last, CAP_AUDIT_READ);
  EXPECT_GE(::prctl(PR_CAPBSET_READ, last, 0, 0, 0), 0);
  EXPECT_EQ(::prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(AllCapabilities, CoversBitsUpToLastCap) {
  EXPECT_EQ(all_capabilities(0), uint64_t{1});
  EXPECT_EQ(all_capabilities(40), (uint64_t{1} << 41) - 1);
  EXPECT_EQ(all_capabilities(63), ~uint64_t{0});
  EXPECT_EQ(all_capabilities(-1), uint64_t{0});
}

TEST(ResolveCapabilities, DropsThenAddsOnTheBase) {
  const uint64_t base = docker_default_capabilities();
  auto caps = resolve_capabilities(base, {"NET_ADMIN", "cap_sys_ptrace"}, {"MKNOD", "CAP_NET_RAW"});
  ASSERT_TRUE(caps.has_value()) << caps.error().message();
  EXPECT_EQ(*caps, (base & ~bit(CAP_MKNOD) & ~bit(CAP_NET_RAW)) | bit(CAP_NET_ADMIN) |
                       bit(CAP_SYS_PTRACE));
  EXPECT_EQ(resolve_capabilities(base, {}, {}).value_or(0), base);
  // A name in both lists ends up added, as with docker run --cap-drop X --cap-add X.
  EXPECT_EQ(resolve_capabilities(base, {"MKNOD"}, {"MKNOD"}).value_or(0), base);
}

TEST(ResolveCapabilities, AddAllMeansEveryCapabilityThisProcessCanPassOnMinusDrops) {
  const uint64_t all = own_bounding_set(last_cap());
  EXPECT_EQ(all & ~all_capabilities(last_cap()), 0u);
  EXPECT_NE(all & bit(CAP_CHOWN), 0u);
  EXPECT_EQ(resolve_capabilities(docker_default_capabilities(), {"ALL"}, {}).value_or(0), all);
  EXPECT_EQ(resolve_capabilities(0, {"all"}, {"NET_ADMIN"}).value_or(0), all & ~bit(CAP_NET_ADMIN));
  EXPECT_EQ(resolve_capabilities(0, {"ALL"}, {"ALL"}).value_or(0), all);
}

TEST(ResolveCapabilities, DropAllStartsFromNothing) {
  const uint64_t base = docker_default_capabilities();
  EXPECT_EQ(resolve_capabilities(base, {}, {"ALL"}).value_or(1), uint64_t{0});
  EXPECT_EQ(resolve_capabilities(base, {"CHOWN", "NET_BIND_SERVICE"}, {"ALL"}).value_or(0),
            bit(CAP_CHOWN) | bit(CAP_NET_BIND_SERVICE));
}

TEST(ResolveCapabilities, UnknownNamesAreErrors) {
  auto added = resolve_capabilities(docker_default_capabilities(), {"FOO"}, {});
  ASSERT_FALSE(added.has_value());
  EXPECT_EQ(added.error().message(), "unknown capability \"FOO\"");
  auto dropped = resolve_capabilities(docker_default_capabilities(), {}, {"CAP_BAR"});
  ASSERT_FALSE(dropped.has_value());
  EXPECT_EQ(dropped.error().message(), "unknown capability \"CAP_BAR\"");
}

TEST(PlanCapabilities, CarriesTheSetAndTheKernelsLastCap) {
  auto plan = plan_capabilities(docker_default_capabilities());
  ASSERT_TRUE(plan.has_value()) << plan.error().message();
  EXPECT_EQ(plan->set, docker_default_capabilities());
  EXPECT_EQ(plan->last_cap, last_cap());

  auto too_big = plan_capabilities(bit(63));
  ASSERT_FALSE(too_big.has_value());
  EXPECT_NE(too_big.error().message().find("CAP_63"), std::string::npos)
      << too_big.error().message();
}

// --- apply_capabilities in a forked child (needs root) ---

struct ChildOutcome {
  int exit_code = -1;
  std::string output;  // /proc/self/status of the child, or "errno N" when `setup` failed
};

// Forks; the child runs `setup` (returns 0 or an errno), then sends its /proc/self/status back,
// either read directly or, with `exec_cat`, by exec'ing cat so the caps after execve show.
ChildOutcome run_child(const std::function<int()>& setup, bool exec_cat) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {.exit_code = -1, .output = "pipe2 failed"};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (int e = setup(); e != 0) {
      std::string msg = "errno " + std::to_string(e);
      (void)!::write(fds[1], msg.data(), msg.size());
      ::_exit(1);
    }
    if (exec_cat) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::execl("/bin/cat", "cat", "/proc/self/status", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status_fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    char buf[8192];
    ssize_t n;
    while (status_fd >= 0 && (n = ::read(status_fd, buf, sizeof buf)) > 0)
      (void)!::write(fds[1], buf, static_cast<size_t>(n));
    ::_exit(status_fd >= 0 ? 0 : 2);
  }
  ::close(fds[1]);
  ChildOutcome outcome;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
    outcome.output.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status))
    outcome.exit_code = WEXITSTATUS(status);
  return outcome;
}

// "CapEff" -> value, from /proc/PID/status text.
std::map<std::string, uint64_t> cap_lines(const std::string& status) {
  std::map<std::string, uint64_t> out;
  size_t pos = 0;
  while (pos < status.size()) {
    size_t end = status.find('\n', pos);
    if (end == std::string::npos) end = status.size();
    std::string line = status.substr(pos, end - pos);
    char key[16];
    unsigned long long value;
    if (line.rfind("Cap", 0) == 0 && std::sscanf(line.c_str(), "%15[^:]:\t%llx", key, &value) == 2)
      out[key] = value;
    pos = end + 1;
  }
  return out;
}

uint64_t own_cap(const char* key) {
  auto status = fs::read_file("/proc/self/status");
  return status ? cap_lines(*status)[key] : 0;
}

class ApplyCapabilities : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to change capabilities; run as root";
    auto planned = plan_capabilities(docker_default_capabilities());
    ASSERT_TRUE(planned.has_value()) << planned.error().message();
    plan_ = *planned;
    if ((own_cap("CapPrm") & plan_.set) != plan_.set || !(own_cap("CapEff") & bit(CAP_SETPCAP)))
      GTEST_SKIP() << "this root process lacks some of Docker's default capabilities or "
                      "CAP_SETPCAP (CapPrm "
                   << std::hex << own_cap("CapPrm") << ")";
  }
  CapabilityPlan plan_;
};

TEST_F(ApplyCapabilities, AsRootLeavesExactlyTheSetInEveryVector) {
  CapabilityPlan plan = plan_;
  ChildOutcome child = run_child([&plan] { return apply_capabilities(plan); }, false);
  ASSERT_EQ(child.exit_code, 0) << child.output;
  auto caps = cap_lines(child.output);
  EXPECT_EQ(caps["CapEff"], plan.set);
  EXPECT_EQ(caps["CapPrm"], plan.set);
  EXPECT_EQ(caps["CapInh"], plan.set);
  EXPECT_EQ(caps["CapBnd"], plan.set);
  EXPECT_EQ(caps["CapAmb"], uint64_t{0});
}

TEST_F(ApplyCapabilities, RootKeepsTheSetAcrossExec) {
  CapabilityPlan plan = plan_;
  ChildOutcome child = run_child([&plan] { return apply_capabilities(plan); }, true);
  ASSERT_EQ(child.exit_code, 0) << child.output;
  auto caps = cap_lines(child.output);
  EXPECT_EQ(caps["CapEff"], plan.set);
  EXPECT_EQ(caps["CapBnd"], plan.set);
  EXPECT_EQ(caps["CapAmb"], uint64_t{0});
}

int become_nobody_then_apply(const CapabilityPlan& plan) {
  constexpr uid_t kNobody = 65534;
  if (int e = prepare_keep_caps()) return e;
  if (::setgroups(0, nullptr) != 0) return errno;
  if (::setresgid(kNobody, kNobody, kNobody) != 0) return errno;
  if (::setresuid(kNobody, kNobody, kNobody) != 0) return errno;
  return apply_capabilities(plan);
}

TEST_F(ApplyCapabilities, WorksAfterSwitchingToANonRootUser) {
  CapabilityPlan plan = plan_;
  ChildOutcome child = run_child([&plan] { return become_nobody_then_apply(plan); }, false);
  ASSERT_EQ(child.exit_code, 0) << child.output;
  EXPECT_NE(child.output.find("Uid:\t65534\t65534\t65534\t65534"), std::string::npos);
  auto caps = cap_lines(child.output);
  EXPECT_EQ(caps["CapEff"], plan.set);
  EXPECT_EQ(caps["CapPrm"], plan.set);
  EXPECT_EQ(caps["CapBnd"], plan.set);
  EXPECT_EQ(caps["CapAmb"], uint64_t{0});
}

TEST_F(ApplyCapabilities, NonRootUserHasNoEffectiveCapsAfterExecLikeDocker) {
  CapabilityPlan plan = plan_;
  ChildOutcome child = run_child([&plan] { return become_nobody_then_apply(plan); }, true);
  ASSERT_EQ(child.exit_code, 0) << child.output;
  auto caps = cap_lines(child.output);
  EXPECT_EQ(caps["CapEff"], uint64_t{0});
  EXPECT_EQ(caps["CapPrm"], uint64_t{0});
  EXPECT_EQ(caps["CapBnd"], plan.set);
  EXPECT_EQ(caps["CapAmb"], uint64_t{0});
}

TEST_F(ApplyCapabilities, EmptySetDropsEverything) {
  CapabilityPlan none{.set = 0, .last_cap = plan_.last_cap};
  ChildOutcome child = run_child([&none] { return apply_capabilities(none); }, false);
  ASSERT_EQ(child.exit_code, 0) << child.output;
  auto caps = cap_lines(child.output);
  for (const char* key : {"CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"})
    EXPECT_EQ(caps[key], uint64_t{0}) << key;
}

TEST_F(ApplyCapabilities, ACapabilityThisProcessCannotPassOnIsLeftOutOfAllAndRefusedByName) {
  // In a child whose bounding set lost CAP_SYS_TIME, as under a CI sandbox that dropped one.
  ChildOutcome child = run_child(
      [] {
        if (::prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0) != 0) return errno;
        auto all = resolve_capabilities(0, {"ALL"}, {});
        if (!all || (*all & bit(CAP_SYS_TIME)) || !(*all & bit(CAP_SYS_ADMIN))) return 1001;
        auto plan = plan_capabilities(bit(CAP_SYS_TIME) | bit(CAP_CHOWN));
        if (plan || plan.error().message() !=
                        "capabilities CAP_SYS_TIME are not in slipway's own bounding set: the host or a "
                        "parent process dropped them")
          return 1002;
        return 0;
      },
      false);
  EXPECT_EQ(child.exit_code, 0) << child.output;
}

TEST_F(ApplyCapabilities, ReportsTheErrnoWhenTheSetExceedsPermitted) {
  // First drop to the default set, then ask for CAP_SYS_ADMIN back: capset must refuse.
  CapabilityPlan plan = plan_;
  CapabilityPlan more{.set = plan.set | bit(CAP_SYS_ADMIN), .last_cap = plan.last_cap};
  ChildOutcome child = run_child(
      [&] {
        if (int e = apply_capabilities(plan)) return e;
        return apply_capabilities(more);
      },
      false);
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_EQ(child.output, "errno " + std::to_string(EPERM));
}

}  // namespace
}  // namespace slipway::runtime
