// Seccomp profiles as files: Docker's includes/excludes selection, kernel versions, JSON parsing
// and its one-line errors, and loading a profile file.
#include "runtime/seccomp_profile.h"

#include <gtest/gtest.h>
#include <linux/capability.h>

#include <cerrno>
#include <string>
#include <vector>

#include "base/fs.h"
#include "runtime/capabilities.h"
#include "tests/support/test_support.h"
#include "tests/unit/seccomp_test_helpers.h"

namespace slipway::runtime {
namespace {

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

}  // namespace
}  // namespace slipway::runtime
