// Seccomp profiles as plain data: Docker's default profile (selected by the container's
// capabilities the way moby does) and Docker/OCI-format profile files. No libseccomp here;
// seccomp_filter.h turns a profile into BPF. "unconfined" is not a profile: the caller simply loads
// no filter.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::runtime {

enum class SeccompAction {
  kKillThread,   // SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD
  kKillProcess,  // SCMP_ACT_KILL_PROCESS
  kTrap,         // SCMP_ACT_TRAP
  kErrno,        // SCMP_ACT_ERRNO
  kTrace,        // SCMP_ACT_TRACE
  kAllow,        // SCMP_ACT_ALLOW
  kLog,          // SCMP_ACT_LOG
};

enum class SeccompOp {
  kNotEqual,        // SCMP_CMP_NE
  kLessThan,        // SCMP_CMP_LT
  kLessOrEqual,     // SCMP_CMP_LE
  kEqual,           // SCMP_CMP_EQ
  kGreaterOrEqual,  // SCMP_CMP_GE
  kGreaterThan,     // SCMP_CMP_GT
  kMaskedEqual,     // SCMP_CMP_MASKED_EQ: (arg & value) == value_two
};

// One comparison on a system call argument.
struct SeccompArg {
  unsigned index = 0;  // 0..5
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOp op = SeccompOp::kEqual;

  bool operator==(const SeccompArg&) const = default;
};

struct SeccompRule {
  std::vector<std::string> names;  // system call names; ones libseccomp does not know are skipped
  SeccompAction action = SeccompAction::kAllow;
  uint32_t errno_ret = EPERM;  // kErrno: the errno returned; kTrace: the value the tracer sees
  // All must hold. If one index appears twice, every comparison becomes a rule of its own (OR),
  // which is what runc does and what profiles written for Docker expect.
  std::vector<SeccompArg> args;
};

struct SeccompProfile {
  SeccompAction default_action = SeccompAction::kErrno;
  uint32_t default_errno = EPERM;  // for kErrno / kTrace
  // SCMP_ARCH_* names the filter also covers; the native architecture is always covered.
  std::vector<std::string> architectures;
  std::vector<SeccompRule> rules;
};

// Docker's default profile for a container with `capabilities` (a CAP_* bit set): the big
// allow-list, the arch-specific groups for this build's architecture, and the groups a capability
// unlocks (CAP_SYS_ADMIN: mount, unshare, setns, clone with namespace flags, clone3 ...). Without
// CAP_SYS_ADMIN clone is allowed only without namespace flags and clone3 fails with ENOSYS, so
// glibc falls back to clone. Covers the native architecture plus its compat ones (x86 and x32 on
// x86_64), as Docker does.
SeccompProfile docker_default_profile(uint64_t capabilities);

// Reads a Docker or OCI seccomp profile (defaultAction, defaultErrnoRet, architectures or archMap,
// syscalls[] with name/names, action, errnoRet, args[] {index, value, valueTwo, op},
// includes/excludes {caps, arches, minKernel}); includes/excludes are resolved here against
// `capabilities`, this build's architecture and the running kernel, as dockerd does before it hands
// a profile to runc. Errors name the field: `syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
[[nodiscard]] Result<SeccompProfile> parse_seccomp_profile_json(std::string_view json,
                                                                uint64_t capabilities);

// parse_seccomp_profile_json on a file; errors start with "seccomp profile <path>: ".
[[nodiscard]] Result<SeccompProfile> load_seccomp_profile_file(const std::string& path,
                                                               uint64_t capabilities);

// "SCMP_ACT_ALLOW", ... (kKillThread is "SCMP_ACT_KILL_THREAD").
std::string_view seccomp_action_name(SeccompAction action);

// Whether `name` is an SCMP_ARCH_* name this runtime understands.
bool is_seccomp_arch_name(std::string_view name);

// This build's architecture as Docker profiles name it in includes/excludes "arches": "amd64",
// "x86", "arm64", "arm", "ppc64le", "s390x", "riscv64", ...
std::string_view seccomp_native_arch();

// SCMP_ARCH_* names of this build's architecture followed by the compat ones Docker adds
// (x86_64: SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32).
std::vector<std::string> seccomp_default_architectures();

// Kernel version as major.minor, for minKernel conditions.
struct KernelVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const KernelVersion&) const = default;
};

// The running kernel's version from uname(2).
[[nodiscard]] Result<KernelVersion> running_kernel_version();

// "4.8" or "5.10.0-rc1" -> {4, 8} / {5, 10}.
[[nodiscard]] Result<KernelVersion> parse_kernel_version(std::string_view text);

// Docker's per-rule "includes" / "excludes" condition. Empty fields do not take part.
struct SeccompRuleCondition {
  uint64_t caps = 0;                // CAP_* bits
  std::vector<std::string> arches;  // names as seccomp_native_arch() returns them
  KernelVersion min_kernel{};       // {0, 0}: none
};

// moby's selection rule: a rule applies unless an excluded cap is in `capabilities`, the native
// arch is in excludes.arches or the kernel is at least excludes.min_kernel; and only if every
// included cap is in `capabilities`, the native arch is in includes.arches and the kernel is at
// least includes.min_kernel.
bool seccomp_rule_applies(const SeccompRuleCondition& includes,
                          const SeccompRuleCondition& excludes, uint64_t capabilities,
                          KernelVersion kernel);

}  // namespace slipway::runtime
