#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/fs.h"
#include "runtime/capabilities.h"
#include "runtime/seccomp_filter.h"
#include "runtime/seccomp_profile.h"
#include "tests/support/test_support.h"

namespace slipway::runtime {
namespace {

constexpr uint64_t bit(int cap) {
  return uint64_t{1} << cap;
}
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

SeccompProfile default_profile() {
  return docker_default_profile(docker_default_capabilities());
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
                           "io_uring_setup", "seccomp", "prctl"})
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

// --- includes / excludes selection ---

SeccompRuleCondition with_caps(uint64_t caps) {
  SeccompRuleCondition condition;
  condition.caps = caps;
  return condition;
}

SeccompRuleCondition with_arches(std::vector<std::string> arches) {
  SeccompRuleCondition condition;
  condition.arches = std::move(arches);
  return condition;
}

SeccompRuleCondition with_min_kernel(KernelVersion version) {
  SeccompRuleCondition condition;
  condition.min_kernel = version;
  return condition;
}

TEST(SeccompRuleApplies, FollowsMobysIncludeAndExcludeRules) {
  const KernelVersion kernel{5, 10};
  const std::string native(seccomp_native_arch());
  SeccompRuleCondition none;
  EXPECT_TRUE(seccomp_rule_applies(none, none, 0, kernel));

  SeccompRuleCondition needs_admin_and_net = with_caps(bit(CAP_SYS_ADMIN) | bit(CAP_NET_ADMIN));
  EXPECT_FALSE(seccomp_rule_applies(needs_admin_and_net, none, bit(CAP_SYS_ADMIN), kernel));
  EXPECT_TRUE(seccomp_rule_applies(needs_admin_and_net, none,
                                   bit(CAP_SYS_ADMIN) | bit(CAP_NET_ADMIN), kernel));

  SeccompRuleCondition unless_admin = with_caps(bit(CAP_SYS_ADMIN));
  EXPECT_TRUE(seccomp_rule_applies(none, unless_admin, bit(CAP_CHOWN), kernel));
  EXPECT_FALSE(seccomp_rule_applies(none, unless_admin, bit(CAP_SYS_ADMIN), kernel));

  SeccompRuleCondition on_native = with_arches({"nonexistent", native});
  SeccompRuleCondition on_other = with_arches({"nonexistent"});
  EXPECT_TRUE(seccomp_rule_applies(on_native, none, 0, kernel));
  EXPECT_FALSE(seccomp_rule_applies(on_other, none, 0, kernel));
  EXPECT_FALSE(seccomp_rule_applies(none, on_native, 0, kernel));
  EXPECT_TRUE(seccomp_rule_applies(none, on_other, 0, kernel));

  SeccompRuleCondition from_5_10 = with_min_kernel({5, 10});
  SeccompRuleCondition from_5_11 = with_min_kernel({5, 11});
  EXPECT_TRUE(seccomp_rule_applies(from_5_10, none, 0, kernel));
  EXPECT_FALSE(seccomp_rule_applies(from_5_11, none, 0, kernel));
  EXPECT_FALSE(seccomp_rule_applies(none, from_5_10, 0, kernel));
  EXPECT_TRUE(seccomp_rule_applies(none, from_5_11, 0, kernel));
}

TEST(KernelVersionParse, TakesMajorMinorAndIgnoresTheRest) {
  EXPECT_EQ(parse_kernel_version("4.8").value_or(KernelVersion{}), (KernelVersion{4, 8}));
  EXPECT_EQ(parse_kernel_version("6.1.0-18-amd64").value_or(KernelVersion{}),
            (KernelVersion{6, 1}));
  EXPECT_EQ(parse_kernel_version("5.10-rc1").value_or(KernelVersion{}), (KernelVersion{5, 10}));
  for (const char* bad : {"", "4", "4.", "x.y", "4.8x", "-1.2"}) {
    auto v = parse_kernel_version(bad);
    ASSERT_FALSE(v.has_value()) << bad;
    EXPECT_EQ(v.error().message(), fmt::format("invalid kernel version \"{}\"", bad));
  }
  auto running = running_kernel_version();
  ASSERT_TRUE(running.has_value()) << running.error().message();
  EXPECT_GE(*running, (KernelVersion{3, 17}));
}

// --- JSON profiles ---

std::string small_profile() {
  return fmt::format(R"({{
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    "flags": [],
    "syscalls": [
      {{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "basics"}},
      {{"name": "socket", "action": "SCMP_ACT_ALLOW",
        "args": [{{"index": 0, "value": 2, "valueTwo": 0, "op": "SCMP_CMP_EQ"}},
                 {{"index": 1, "value": 4294967295, "op": "SCMP_CMP_MASKED_EQ"}}]}},
      {{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {{"caps": ["CAP_SYS_ADMIN"]}}}},
      {{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
        "excludes": {{"caps": ["CAP_SYS_ADMIN"]}}}},
      {{"names": ["uname"], "action": "SCMP_ACT_LOG", "includes": {{"arches": ["{}"]}}}},
      {{"names": ["getcpu"], "action": "SCMP_ACT_KILL_PROCESS", "includes": {{"arches": ["not-this-one"]}}}},
      {{"names": ["gettid"], "action": "SCMP_ACT_TRAP", "includes": {{"minKernel": "999.0"}}}},
      {{"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 7, "includes": {{"minKernel": "3.0"}}}},
      {{"names": ["kexec_load"], "action": "SCMP_ACT_KILL"}}
    ]
  }})",
                     seccomp_native_arch());
}

TEST(ParseSeccompProfileJson, ReadsEveryFieldAndSelectsByCaps) {
  auto parsed = parse_seccomp_profile_json(small_profile(), docker_default_capabilities());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  const SeccompProfile& p = *parsed;
  EXPECT_EQ(p.default_action, SeccompAction::kErrno);
  EXPECT_EQ(p.default_errno, 1u);
  EXPECT_EQ(p.architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
  ASSERT_EQ(p.rules.size(), 6u);

  EXPECT_EQ(p.rules[0].names, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(p.rules[0].action, SeccompAction::kAllow);
  EXPECT_TRUE(p.rules[0].args.empty());

  EXPECT_EQ(p.rules[1].names, std::vector<std::string>{"socket"});
  EXPECT_EQ(p.rules[1].args,
            (std::vector<SeccompArg>{{0, 2, 0, SeccompOp::kEqual},
                                     {1, 4294967295u, 0, SeccompOp::kMaskedEqual}}));

  EXPECT_EQ(p.rules[2].names, std::vector<std::string>{"clone3"});  // mount needs CAP_SYS_ADMIN
  EXPECT_EQ(p.rules[2].action, SeccompAction::kErrno);
  EXPECT_EQ(p.rules[2].errno_ret, 38u);

  EXPECT_EQ(p.rules[3].names, std::vector<std::string>{"uname"});
  EXPECT_EQ(p.rules[3].action, SeccompAction::kLog);
  // getcpu (other arch) and gettid (kernel 999.0) are left out.
  EXPECT_EQ(p.rules[4].names, std::vector<std::string>{"ptrace"});
  EXPECT_EQ(p.rules[4].action, SeccompAction::kTrace);
  EXPECT_EQ(p.rules[4].errno_ret, 7u);
  EXPECT_EQ(p.rules[5].action, SeccompAction::kKillThread);

  auto admin = parse_seccomp_profile_json(small_profile(), bit(CAP_SYS_ADMIN));
  ASSERT_TRUE(admin.has_value()) << admin.error().message();
  ASSERT_EQ(admin->rules.size(), 6u);
  EXPECT_EQ(admin->rules[2].names, std::vector<std::string>{"mount"});
  EXPECT_EQ(admin->rules[3].names, std::vector<std::string>{"uname"});
}

TEST(ParseSeccompProfileJson, ArchMapPicksTheNativeEntry) {
  const std::string native = seccomp_default_architectures().front();
  const std::string other = native == "SCMP_ARCH_S390X" ? "SCMP_ARCH_PPC64LE" : "SCMP_ARCH_S390X";
  std::string json = fmt::format(R"({{
    "defaultAction": "SCMP_ACT_ERRNO",
    "archMap": [
      {{"architecture": "{0}", "subArchitectures": ["SCMP_ARCH_S390"]}},
      {{"architecture": "{1}", "subArchitectures": ["SCMP_ARCH_ARM"]}},
      {{"architecture": "{1}", "subArchitectures": null}},
      {{"architecture": "{0}", "subArchitectures": null}}
    ],
    "syscalls": null
  }})",
                                 other, native);
  auto parsed = parse_seccomp_profile_json(json, 0);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_EQ(parsed->architectures, (std::vector<std::string>{native, "SCMP_ARCH_ARM"}));
  EXPECT_TRUE(parsed->rules.empty());
  EXPECT_EQ(parsed->default_errno, static_cast<uint32_t>(EPERM));
}

struct BadProfile {
  std::string json;
  std::string error;
};

class ParseSeccompProfileJsonErrors : public ::testing::TestWithParam<BadProfile> {};

TEST_P(ParseSeccompProfileJsonErrors, NamesTheFieldInOneLine) {
  auto parsed = parse_seccomp_profile_json(GetParam().json, docker_default_capabilities());
  ASSERT_FALSE(parsed.has_value()) << GetParam().json;
  EXPECT_EQ(parsed.error().message().find('\n'), std::string::npos) << parsed.error().message();
  EXPECT_EQ(parsed.error().message().rfind(GetParam().error, 0), 0u)
      << "got: " << parsed.error().message();
}

const char kHead[] = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": )";

INSTANTIATE_TEST_SUITE_P(
    Bad, ParseSeccompProfileJsonErrors,
    ::testing::Values(
        BadProfile{"{", "invalid JSON: "}, BadProfile{"", "invalid JSON: "},
        BadProfile{"[]", "expected a JSON object, got array"},
        BadProfile{R"({"syscalls": []})", "defaultAction: missing"},
        BadProfile{R"({"defaultAction": "SCMP_ACT_FOO"})",
                   "defaultAction: unknown action \"SCMP_ACT_FOO\""},
        BadProfile{R"({"defaultAction": 3})", "defaultAction: expected a string, got number"},
        BadProfile{R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1})",
                   "defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one"},
        BadProfile{R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1})",
                   "defaultErrnoRet: expected a non-negative integer, got -1"},
        BadProfile{R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})",
                   "defaultErrnoRet: 70000 is larger than 65535"},
        BadProfile{R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_VAX"]})",
                   "architectures[0]: unknown architecture \"SCMP_ARCH_VAX\""},
        BadProfile{R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
                     "archMap": [{"architecture": "SCMP_ARCH_X86"}]})",
                   "architectures and archMap are both set"},
        BadProfile{R"({"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"subArchitectures": []}]})",
                   "archMap[0].architecture: missing"},
        BadProfile{std::string(kHead) + "{}}", "syscalls: expected an array, got object"},
        BadProfile{std::string(kHead) + R"([{"names": "read", "action": "SCMP_ACT_ALLOW"}]})",
                   "syscalls[0].names: expected an array, got string"},
        BadProfile{std::string(kHead) + R"([{"names": ["read", 3], "action": "SCMP_ACT_ALLOW"}]})",
                   "syscalls[0].names[1]: expected a string, got number"},
        BadProfile{std::string(kHead) + R"([{"names": [], "action": "SCMP_ACT_ALLOW"}]})",
                   "syscalls[0].names: empty"},
        BadProfile{std::string(kHead) + R"([{"action": "SCMP_ACT_ALLOW"}]})",
                   "syscalls[0]: no name or names"},
        BadProfile{std::string(kHead) +
                       R"([{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]})",
                   "syscalls[0]: both name and names are set"},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                                           {"names": ["write"], "action": "SCMP_ACT_FOO"}]})",
                   "syscalls[1].action: unknown action \"SCMP_ACT_FOO\""},
        BadProfile{std::string(kHead) + R"([{"names": ["read"]}]})", "syscalls[0].action: missing"},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]})",
                   "syscalls[0].action: SCMP_ACT_NOTIFY is not supported"},
        BadProfile{std::string(kHead) +
                       R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]})",
                   "syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one"},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]})",
                   "syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\""},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                            "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
                   "syscalls[0].args[0].index: 6 is out of range 0-5"},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                            "args": [{"value": 1, "op": "SCMP_CMP_EQ"}]}]})",
                   "syscalls[0].args[0].index: missing"},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                            "args": [{"index": 0, "value": -5, "op": "SCMP_CMP_EQ"}]}]})",
                   "syscalls[0].args[0].value: expected a non-negative integer, got -5"},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                            "args": [{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}]}]})",
                   "syscalls[0].args[0].value: expected a non-negative integer, got number"},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                            "includes": {"caps": ["CAP_FOO"]}}]})",
                   "syscalls[0].includes.caps[0]: unknown capability \"CAP_FOO\""},
        BadProfile{std::string(kHead) + R"([{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                            "excludes": {"minKernel": "four"}}]})",
                   "syscalls[0].excludes.minKernel: invalid kernel version \"four\""}));

TEST(LoadSeccompProfileFile, ReadsAFileAndPutsThePathInErrors) {
  slipway::testing::TempDir dir("slipway-seccomp-test");
  const std::string good = dir.path() + "/good.json";
  const std::string bad = dir.path() + "/bad.json";
  ASSERT_TRUE(fs::write_file(good, small_profile()).has_value());
  ASSERT_TRUE(fs::write_file(bad, R"({"defaultAction": "SCMP_ACT_NOPE"})").has_value());

  auto loaded = load_seccomp_profile_file(good, 0);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
  EXPECT_EQ(loaded->rules.size(), 6u);

  auto broken = load_seccomp_profile_file(bad, 0);
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(
      broken.error().message(),
      fmt::format("seccomp profile {}: defaultAction: unknown action \"SCMP_ACT_NOPE\"", bad));

  auto missing = load_seccomp_profile_file(dir.path() + "/missing.json", 0);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_NE(missing.error().message().find("missing.json"), std::string::npos);
}

// --- compiling: a small classic-BPF interpreter runs the exported program on seccomp_data ---

uint32_t run_bpf(const std::vector<sock_filter>& prog, const seccomp_data& data) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  auto load_word = [&data](uint32_t offset) {
    uint32_t word = 0;
    if (offset + sizeof word <= sizeof data)
      std::memcpy(&word, reinterpret_cast<const char*>(&data) + offset, sizeof word);
    return word;
  };
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& ins = prog[pc];
    const uint32_t src = BPF_SRC(ins.code) == BPF_X ? x : ins.k;
    switch (BPF_CLASS(ins.code)) {
      case BPF_LD:
        if (BPF_MODE(ins.code) == BPF_ABS)
          a = load_word(ins.k);
        else if (BPF_MODE(ins.code) == BPF_IMM)
          a = ins.k;
        else if (BPF_MODE(ins.code) == BPF_MEM)
          a = mem[ins.k];
        else if (BPF_MODE(ins.code) == BPF_LEN)
          a = sizeof data;
        else
          ADD_FAILURE() << "unsupported ld mode at " << pc;
        break;
      case BPF_LDX:
        if (BPF_MODE(ins.code) == BPF_IMM)
          x = ins.k;
        else if (BPF_MODE(ins.code) == BPF_MEM)
          x = mem[ins.k];
        else if (BPF_MODE(ins.code) == BPF_LEN)
          x = sizeof data;
        else
          ADD_FAILURE() << "unsupported ldx mode at " << pc;
        break;
      case BPF_ST:
        mem[ins.k] = a;
        break;
      case BPF_STX:
        mem[ins.k] = x;
        break;
      case BPF_ALU:
        switch (BPF_OP(ins.code)) {
          case BPF_ADD:
            a += src;
            break;
          case BPF_SUB:
            a -= src;
            break;
          case BPF_MUL:
            a *= src;
            break;
          case BPF_DIV:
            a = src ? a / src : 0;
            break;
          case BPF_MOD:
            a = src ? a % src : 0;
            break;
          case BPF_OR:
            a |= src;
            break;
          case BPF_AND:
            a &= src;
            break;
          case BPF_XOR:
            a ^= src;
            break;
          case BPF_LSH:
            a <<= src;
            break;
          case BPF_RSH:
            a >>= src;
            break;
          case BPF_NEG:
            a = -a;
            break;
        }
        break;
      case BPF_JMP: {
        bool taken = false;
        switch (BPF_OP(ins.code)) {
          case BPF_JA:
            pc += ins.k;
            continue;
          case BPF_JEQ:
            taken = a == src;
            break;
          case BPF_JGT:
            taken = a > src;
            break;
          case BPF_JGE:
            taken = a >= src;
            break;
          case BPF_JSET:
            taken = (a & src) != 0;
            break;
        }
        pc += taken ? ins.jt : ins.jf;
        break;
      }
      case BPF_RET:
        return BPF_RVAL(ins.code) == BPF_A ? a : ins.k;
      case BPF_MISC:
        if (BPF_MISCOP(ins.code) == BPF_TAX)
          x = a;
        else
          a = x;
        break;
    }
  }
  ADD_FAILURE() << "program ran off its end";
  return 0;
}

seccomp_data call(uint32_t arch, int nr, std::vector<uint64_t> args = {}) {
  seccomp_data data{};
  data.arch = arch;
  data.nr = nr;
  for (size_t i = 0; i < args.size() && i < 6; ++i) data.args[i] = args[i];
  return data;
}

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t errno_ret(int e) {
  return SECCOMP_RET_ERRNO | static_cast<uint32_t>(e);
}

SeccompProgram compiled(const SeccompProfile& profile) {
  auto program = compile_seccomp(profile);
  EXPECT_TRUE(program.has_value()) << program.error().message();
  return program.value_or(SeccompProgram{});
}

TEST(CompileSeccomp, DefaultProfileGivesAKernelSizedProgram) {
  SeccompProgram program = compiled(default_profile());
  ASSERT_FALSE(program.filter.empty());
  EXPECT_LE(program.filter.size(), static_cast<size_t>(BPF_MAXINSNS));
  // A seccomp filter starts by checking the architecture: load seccomp_data.arch.
  EXPECT_EQ(program.filter[0].code, BPF_LD | BPF_W | BPF_ABS);
  EXPECT_EQ(program.filter[0].k, offsetof(seccomp_data, arch));
  EXPECT_EQ(BPF_CLASS(program.filter.back().code), static_cast<uint16_t>(BPF_RET));
}

#if defined(__x86_64__) && !defined(__ILP32__)
constexpr int kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT

TEST(CompileSeccomp, DefaultProgramDecidesLikeDockerOnEveryX86Abi) {
  SeccompProgram program = compiled(default_profile());
  ASSERT_FALSE(program.filter.empty());
  auto verdict = [&](uint32_t arch, int nr, std::vector<uint64_t> args = {}) {
    return run_bpf(program.filter, call(arch, nr, std::move(args)));
  };
  const uint32_t x86_64 = AUDIT_ARCH_X86_64, i386 = AUDIT_ARCH_I386;
  EXPECT_EQ(verdict(x86_64, SYS_getpid), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_read), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_execve), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_kexec_load), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_mount), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_unshare, {CLONE_NEWUTS}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_clone3), errno_ret(ENOSYS));
  EXPECT_EQ(verdict(x86_64, SYS_clone, {SIGCHLD}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_clone, {CLONE_VM | CLONE_THREAD | CLONE_SIGHAND}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_clone, {CLONE_NEWNET | SIGCHLD}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_clone, {CLONE_NEWUSER}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_socket, {AF_INET, SOCK_STREAM}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_socket, {AF_VSOCK, SOCK_STREAM}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_personality, {PER_LINUX32}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_personality, {0xffffffff}), kAllow);
  EXPECT_EQ(verdict(x86_64, SYS_personality, {ADDR_NO_RANDOMIZE}), errno_ret(EPERM));
  EXPECT_EQ(verdict(x86_64, SYS_arch_prctl), kAllow);

  // 32-bit x86 (int 0x80) numbers: getpid 20, socketcall 102, kexec_load 283, mount 21.
  EXPECT_EQ(verdict(i386, 20), kAllow);
  EXPECT_EQ(verdict(i386, 102), kAllow);
  EXPECT_EQ(verdict(i386, 283), errno_ret(EPERM));
  EXPECT_EQ(verdict(i386, 21), errno_ret(EPERM));
  // x32 uses the x86_64 table with bit 30 set.
  EXPECT_EQ(verdict(x86_64, kX32Bit | SYS_getpid), kAllow);
  EXPECT_EQ(verdict(x86_64, kX32Bit | SYS_kexec_load), errno_ret(EPERM));

  // Any other architecture is killed outright.
  const uint32_t other = verdict(AUDIT_ARCH_AARCH64, 172);
  EXPECT_TRUE((other & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_THREAD ||
              (other & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_KILL_PROCESS)
      << std::hex << other;
}

TEST(CompileSeccomp, SysAdminProgramAllowsNamespaces) {
  SeccompProgram program =
      compiled(docker_default_profile(docker_default_capabilities() | bit(CAP_SYS_ADMIN)));
  ASSERT_FALSE(program.filter.empty());
  const uint32_t x86_64 = AUDIT_ARCH_X86_64;
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_unshare, {CLONE_NEWUTS})), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_clone, {CLONE_NEWNET | SIGCHLD})), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_clone3)), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_mount)), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_kexec_load)), errno_ret(EPERM));
}

TEST(CompileSeccomp, EveryCapabilityAtOnceCompilesDespiteOverlappingGroups) {
  // --cap-add ALL: bpf, syslog, ptrace ... then sit in more than one group.
  auto last = kernel_last_capability();
  ASSERT_TRUE(last.has_value()) << last.error().message();
  SeccompProgram program = compiled(docker_default_profile(all_capabilities(*last)));
  ASSERT_FALSE(program.filter.empty());
  const uint32_t x86_64 = AUDIT_ARCH_X86_64;
  for (int nr : {SYS_bpf, SYS_syslog, SYS_ptrace, SYS_init_module, SYS_reboot, SYS_iopl,
                 SYS_perf_event_open, SYS_open_by_handle_at, SYS_settimeofday, SYS_acct})
    EXPECT_EQ(run_bpf(program.filter, call(x86_64, nr)), kAllow) << "syscall " << nr;
  // Docker allows these to no one: not even CAP_SYS_ADMIN or CAP_SYS_BOOT unlock them.
  for (int nr : {SYS_kexec_load, SYS_kexec_file_load, SYS_pivot_root, SYS_swapon, SYS_userfaultfd,
                 SYS_nfsservctl, SYS_create_module})
    EXPECT_EQ(run_bpf(program.filter, call(x86_64, nr)), errno_ret(EPERM)) << "syscall " << nr;
}

TEST(CompileSeccomp, ComparisonsOnOneArgumentAreOredLikeRunc) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::kErrno;
  profile.default_errno = EACCES;
  SeccompRule rule;
  rule.names = {"personality"};
  rule.args = {{0, 0, 0, SeccompOp::kEqual}, {0, 8, 0, SeccompOp::kEqual}};
  profile.rules.push_back(rule);
  SeccompProgram program = compiled(profile);
  ASSERT_FALSE(program.filter.empty());
  const uint32_t x86_64 = AUDIT_ARCH_X86_64;
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_personality, {0})), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_personality, {8})), kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_personality, {4})), errno_ret(EACCES));
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_getpid)), errno_ret(EACCES));
}

TEST(CompileSeccomp, ComparisonsOnDifferentArgumentsAreAnded) {
  SeccompProfile profile;  // kErrno / EPERM
  SeccompRule rule;
  rule.names = {"socket"};
  rule.args = {{0, AF_INET, 0, SeccompOp::kEqual}, {1, 0xf, SOCK_DGRAM, SeccompOp::kMaskedEqual}};
  profile.rules.push_back(rule);
  SeccompProgram program = compiled(profile);
  ASSERT_FALSE(program.filter.empty());
  const uint32_t x86_64 = AUDIT_ARCH_X86_64;
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_socket, {AF_INET, SOCK_DGRAM | SOCK_CLOEXEC})),
            kAllow);
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_socket, {AF_INET, SOCK_STREAM})),
            errno_ret(EPERM));
  EXPECT_EQ(run_bpf(program.filter, call(x86_64, SYS_socket, {AF_INET6, SOCK_DGRAM})),
            errno_ret(EPERM));
}
#endif

TEST(CompileSeccomp, SkipsUnknownNamesAndRulesThatRepeatTheDefault) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::kAllow;
  SeccompRule unknown;
  unknown.names = {"not_a_syscall_at_all", "getpid"};
  unknown.action = SeccompAction::kErrno;
  SeccompRule same_as_default;
  same_as_default.names = {"read"};
  profile.rules = {unknown, same_as_default};
  auto program = compile_seccomp(profile);
  ASSERT_TRUE(program.has_value()) << program.error().message();
#if defined(__x86_64__) && !defined(__ILP32__)
  EXPECT_EQ(run_bpf(program->filter, call(AUDIT_ARCH_X86_64, SYS_getpid)), errno_ret(EPERM));
  EXPECT_EQ(run_bpf(program->filter, call(AUDIT_ARCH_X86_64, SYS_read)), kAllow);
#endif
}

TEST(CompileSeccomp, UnknownArchitectureIsAnError) {
  SeccompProfile profile;
  profile.architectures = {"SCMP_ARCH_VAX"};
  auto program = compile_seccomp(profile);
  ASSERT_FALSE(program.has_value());
  EXPECT_EQ(program.error().message(),
            "seccomp: architecture SCMP_ARCH_VAX is not supported by libseccomp");
}

TEST(CompileSeccomp, ParsedFileCompiles) {
  auto parsed = parse_seccomp_profile_json(small_profile(), docker_default_capabilities());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  SeccompProgram program = compiled(*parsed);
  EXPECT_FALSE(program.filter.empty());
}

// --- loading the default filter in a forked child (no root needed with no_new_privs) ---

// Runs `checks` in a forked child after loading `program`; returns what the child reported:
// "" when every check held, else one line per failed check.
std::string run_filtered_child(const SeccompProgram& program, std::string (*checks)()) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe2 failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string report;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      report = "PR_SET_NO_NEW_PRIVS failed";
    } else if (int e = load_seccomp(program); e != 0) {
      report = std::string("load_seccomp: ") + std::strerror(e);
    } else {
      report = checks();
    }
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(report.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return "waitpid failed";
  if (!WIFEXITED(status)) return "child died with signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0 && out.empty()) return "child failed without a report";
  return out;
}

// One check: the raw result of a syscall and the errno it left.
std::string expect_errno(const char* what, long rc, int expected) {
  int e = errno;
  if (rc == -1 && e == expected) return "";
  return std::string(what) + ": rc " + std::to_string(rc) + " errno " + std::strerror(e) +
         ", want " + std::strerror(expected) + "\n";
}

std::string expect_ok(const char* what, long rc) {
  int e = errno;
  if (rc >= 0) return "";
  return std::string(what) + ": failed with " + std::strerror(e) + "\n";
}

std::string default_filter_checks() {
  std::string report;
  report += expect_ok("getpid", ::syscall(SYS_getpid));
  report += expect_errno("unshare(CLONE_NEWUTS)", ::unshare(CLONE_NEWUTS), EPERM);
  clone_args args{};
  args.exit_signal = SIGCHLD;
  report += expect_errno("clone3", ::syscall(SYS_clone3, &args, sizeof args), ENOSYS);
  // Arguments the kernel would refuse anyway (ENOENT, EINVAL), so an unfiltered root does no harm.
  report += expect_errno("mount", ::mount("none", "/proc/slipway-no-such-dir", "tmpfs", 0, nullptr),
                         EPERM);
  report += expect_errno("kexec_load", ::syscall(SYS_kexec_load, 0, 1000, nullptr, 0), EPERM);
  report += expect_errno("socket(AF_VSOCK)", ::socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
  report += expect_errno("personality(ADDR_NO_RANDOMIZE)", ::personality(ADDR_NO_RANDOMIZE), EPERM);
  report += expect_ok("personality(query)", ::personality(0xffffffff));
  int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  report += expect_ok("socket(AF_UNIX)", sock);
  if (sock >= 0) ::close(sock);
  // fork() is clone(SIGCHLD|...) without namespace flags: allowed.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  report += expect_ok("fork", child);
  if (child > 0) {
    int status = 0;
    report += expect_ok("waitpid", ::waitpid(child, &status, 0));
  }
  return report;
}

TEST(LoadSeccomp, DefaultFilterHoldsInAForkedChild) {
  SeccompProgram program = compiled(default_profile());
  ASSERT_FALSE(program.filter.empty());
  EXPECT_EQ(run_filtered_child(program, default_filter_checks), "");
}

TEST(LoadSeccomp, TheChecksFailUnderAnAllowAllFilter) {
  // Control for the test above: the same checks must notice when nothing is filtered.
  SeccompProfile allow_all;
  allow_all.default_action = SeccompAction::kAllow;
  SeccompProgram program = compiled(allow_all);
  ASSERT_FALSE(program.filter.empty());
  std::string report = run_filtered_child(program, default_filter_checks);
  EXPECT_NE(report.find("clone3"), std::string::npos) << report;
  if (::geteuid() == 0) {
    EXPECT_NE(report.find("unshare"), std::string::npos) << report;
  }
}

std::string admin_filter_checks() {
  std::string report;
  report += expect_ok("getpid", ::syscall(SYS_getpid));
  report += expect_errno("kexec_load", ::syscall(SYS_kexec_load, 0, 1000, nullptr, 0), EPERM);
  // Allowed by the filter; the kernel then refuses for lack of CAP_SYS_ADMIN (EPERM) or, as root,
  // it succeeds. Either way clone3 no longer answers ENOSYS.
  clone_args args{};
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) ::_exit(0);
  if (pid > 0) {
    int status = 0;
    ::waitpid(static_cast<pid_t>(pid), &status, 0);
  } else if (errno == ENOSYS) {
    report += "clone3: still ENOSYS with CAP_SYS_ADMIN\n";
  }
  return report;
}

TEST(LoadSeccomp, SysAdminFilterLetsClone3Through) {
  SeccompProgram program =
      compiled(docker_default_profile(docker_default_capabilities() | bit(CAP_SYS_ADMIN)));
  ASSERT_FALSE(program.filter.empty());
  EXPECT_EQ(run_filtered_child(program, admin_filter_checks), "");
}

TEST(LoadSeccomp, EmptyProgramIsEinval) {
  EXPECT_EQ(load_seccomp(SeccompProgram{}), EINVAL);
}

}  // namespace
}  // namespace slipway::runtime
