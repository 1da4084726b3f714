// Docker's default seccomp profile as data: what it allows, refuses and unlocks per capability.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/personality.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "runtime/capabilities.h"
#include "runtime/seccomp_profile.h"
#include "tests/unit/seccomp_test_helpers.h"

namespace slipway::runtime {
namespace {

constexpr uint64_t kNamespaceFlags =
    0x7E020000;  // NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP

std::vector<const SeccompRule*> rules_naming(const SeccompProfile& profile,
                                             const std::string& name) {
  std::vector<const SeccompRule*> out;
  for (const SeccompRule& rule : profile.rules)
    if (std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end())
      out.push_back(&rule);
  return out;
}

// Allowed whatever the arguments.
bool allows_unconditionally(const SeccompProfile& profile, const std::string& name) {
  for (const SeccompRule* rule : rules_naming(profile, name))
    if (rule->action == SeccompAction::kAllow && rule->args.empty()) return true;
  return false;
}

// --- the default profile as data ---

TEST(DockerDefaultProfile, DeniesWithEpermByDefaultAndCoversCompatArches) {
  SeccompProfile profile = default_profile();
  EXPECT_EQ(profile.default_action, SeccompAction::kErrno);
  EXPECT_EQ(profile.default_errno, static_cast<uint32_t>(EPERM));
  ASSERT_FALSE(profile.architectures.empty());
  EXPECT_EQ(profile.architectures, seccomp_default_architectures());
#if defined(__x86_64__) && !defined(__ILP32__)
  EXPECT_EQ(profile.architectures,
            (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  EXPECT_EQ(seccomp_native_arch(), "amd64");
#endif
}

TEST(DockerDefaultProfile, AllowsTheEverydaySyscalls) {
  SeccompProfile profile = default_profile();
  for (const char* name : {"read", "write", "execve", "openat", "mmap", "exit_group", "getpid",
                           "futex", "rt_sigreturn", "wait4", "capset", "setresuid", "chown",
                           "seccomp", "prctl"})
    EXPECT_TRUE(allows_unconditionally(profile, name)) << name;
  // Since kernel 4.8 ptrace cannot be used to bypass seccomp, so Docker allows it.
  EXPECT_TRUE(allows_unconditionally(profile, "ptrace"));
}

TEST(DockerDefaultProfile, LacksDangerousSyscallsWithDefaultCaps) {
  SeccompProfile profile = default_profile();
  for (const char* name : {"kexec_load",   "kexec_file_load", "init_module",
                           "finit_module", "delete_module",   "reboot",
                           "mount",        "umount2",         "unshare",
                           "setns",        "pivot_root",      "swapon",
                           "bpf",          "perf_event_open", "open_by_handle_at",
                           "acct",         "settimeofday",    "clock_settime",
                           "iopl",         "ioperm",          "syslog",
                           "kcmp",         "vhangup",         "userfaultfd",
                           "fsopen",       "move_mount",      "lookup_dcookie",
                           "mbind"})
    EXPECT_TRUE(rules_naming(profile, name).empty()) << name;
}

TEST(DockerDefaultProfile, BlocksIoUringAsDocker25Does) {
  // io_uring performs its operations outside the syscall filter; whatever caps the container has.
  for (uint64_t caps : {uint64_t{0}, ~uint64_t{0}}) {
    SeccompProfile profile = docker_default_profile(caps);
    for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"})
      EXPECT_TRUE(rules_naming(profile, name).empty()) << name;
  }
}

TEST(DockerDefaultProfile, CloneWithoutNamespaceFlagsAndClone3IsEnosysWithoutSysAdmin) {
  SeccompProfile profile = default_profile();
  auto clone = rules_naming(profile, "clone");
  ASSERT_EQ(clone.size(), 1u);
  EXPECT_EQ(clone[0]->action, SeccompAction::kAllow);
  ASSERT_EQ(clone[0]->args.size(), 1u);
  const SeccompArg& flags = clone[0]->args[0];
#if defined(__s390x__) || defined(__s390__)
  EXPECT_EQ(flags.index, 1u);
#else
  EXPECT_EQ(flags.index, 0u);
#endif
  EXPECT_EQ(flags.op, SeccompOp::kMaskedEqual);
  EXPECT_EQ(flags.value, kNamespaceFlags);
  EXPECT_EQ(flags.value_two, 0u);

  auto clone3 = rules_naming(profile, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0]->action, SeccompAction::kErrno);
  EXPECT_EQ(clone3[0]->errno_ret, static_cast<uint32_t>(ENOSYS));
}

TEST(DockerDefaultProfile, SysAdminUnlocksMountNamespacesAndClone) {
  SeccompProfile profile =
      docker_default_profile(docker_default_capabilities() | bit(CAP_SYS_ADMIN));
  for (const char* name : {"mount", "umount2", "unshare", "setns", "clone", "clone3", "sethostname",
                           "fsopen", "move_mount", "bpf", "perf_event_open", "quotactl"})
    EXPECT_TRUE(allows_unconditionally(profile, name)) << name;
  // No leftover argument-filtered clone or ENOSYS clone3 rule.
  for (const SeccompRule* rule : rules_naming(profile, "clone")) EXPECT_TRUE(rule->args.empty());
  for (const SeccompRule* rule : rules_naming(profile, "clone3"))
    EXPECT_EQ(rule->action, SeccompAction::kAllow);
  EXPECT_TRUE(rules_naming(profile, "kexec_load").empty());
}

struct CapGroupCase {
  int cap;
  std::vector<std::string> unlocked;
};

class DockerDefaultProfileCapGroup : public ::testing::TestWithParam<CapGroupCase> {};

TEST_P(DockerDefaultProfileCapGroup, CapabilityUnlocksItsGroup) {
  const CapGroupCase& c = GetParam();
  SeccompProfile without = default_profile();
  SeccompProfile with = docker_default_profile(docker_default_capabilities() | bit(c.cap));
  for (const std::string& name : c.unlocked) {
    EXPECT_FALSE(allows_unconditionally(without, name)) << name;
    EXPECT_TRUE(allows_unconditionally(with, name)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Groups, DockerDefaultProfileCapGroup,
    ::testing::Values(
        CapGroupCase{CAP_SYS_MODULE, {"init_module", "finit_module", "delete_module"}},
        CapGroupCase{CAP_SYS_BOOT, {"reboot"}},
        CapGroupCase{CAP_SYS_PTRACE, {"kcmp", "pidfd_getfd", "process_madvise"}},
        CapGroupCase{CAP_SYS_TIME, {"settimeofday", "clock_settime"}},
        CapGroupCase{CAP_SYS_NICE, {"mbind", "get_mempolicy", "set_mempolicy"}},
        CapGroupCase{CAP_SYS_RAWIO, {"iopl", "ioperm"}}, CapGroupCase{CAP_SYS_PACCT, {"acct"}},
        CapGroupCase{CAP_SYSLOG, {"syslog"}}, CapGroupCase{CAP_SYS_TTY_CONFIG, {"vhangup"}},
        CapGroupCase{CAP_DAC_READ_SEARCH, {"open_by_handle_at"}}, CapGroupCase{CAP_BPF, {"bpf"}},
        CapGroupCase{CAP_PERFMON, {"perf_event_open"}}));

TEST(DockerDefaultProfile, ChrootNeedsSysChrootWhichDockerGivesByDefault) {
  EXPECT_TRUE(allows_unconditionally(default_profile(), "chroot"));
  SeccompProfile without =
      docker_default_profile(docker_default_capabilities() & ~bit(CAP_SYS_CHROOT));
  EXPECT_TRUE(rules_naming(without, "chroot").empty());
}

TEST(DockerDefaultProfile, SocketRefusesOnlyVsockAndPersonalityOnlyKnownPersonas) {
  SeccompProfile profile = default_profile();
  auto socket = rules_naming(profile, "socket");
  ASSERT_EQ(socket.size(), 1u);
  EXPECT_EQ(socket[0]->args, (std::vector<SeccompArg>{{0, AF_VSOCK, 0, SeccompOp::kNotEqual}}));

  std::set<uint64_t> personas;
  for (const SeccompRule* rule : rules_naming(profile, "personality")) {
    ASSERT_EQ(rule->args.size(), 1u);
    EXPECT_EQ(rule->args[0].op, SeccompOp::kEqual);
    personas.insert(rule->args[0].value);
  }
  const uint64_t linux32 = PER_LINUX32, uname26 = UNAME26;
  EXPECT_EQ(personas,
            (std::set<uint64_t>{PER_LINUX, linux32, uname26, linux32 | uname26, 0xffffffff}));
}

TEST(DockerDefaultProfile, ArchGroupsFollowTheNativeArch) {
  SeccompProfile profile = default_profile();
#if defined(__x86_64__)
  EXPECT_TRUE(allows_unconditionally(profile, "arch_prctl"));
  EXPECT_TRUE(allows_unconditionally(profile, "modify_ldt"));
  EXPECT_TRUE(rules_naming(profile, "set_tls").empty());
  EXPECT_TRUE(rules_naming(profile, "s390_runtime_instr").empty());
#elif defined(__aarch64__)
  EXPECT_TRUE(allows_unconditionally(profile, "set_tls"));
  EXPECT_TRUE(rules_naming(profile, "arch_prctl").empty());
#endif
}

}  // namespace
}  // namespace slipway::runtime
