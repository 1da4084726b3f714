// Helpers shared by the seccomp_*_test.cc files: a capability bit, Docker's default profile with
// Docker's default capabilities, and a small JSON profile that uses every field Docker's files use.
#pragma once

#include <fmt/core.h>

#include <cstdint>
#include <string>

#include "runtime/capabilities.h"
#include "runtime/seccomp_profile.h"

namespace slipway::runtime {

constexpr uint64_t bit(int cap) {
  return uint64_t{1} << cap;
}

inline SeccompProfile default_profile() {
  return docker_default_profile(docker_default_capabilities());
}

inline std::string small_profile() {
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

}  // namespace slipway::runtime
