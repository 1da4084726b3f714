// Seccomp profile -> classic BPF program, compiled by libseccomp in the parent; the child only
// hands the ready program to the kernel (crun's split), so nothing after clone() allocates.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/error.h"
#include "runtime/seccomp_profile.h"

namespace slipway::runtime {

struct SeccompProgram {
  std::vector<sock_filter> filter;
};

// Builds the filter for `profile` with libseccomp: its default action, each rule for every system
// call name libseccomp knows (unknown names are skipped, as runc does; rules whose action equals
// the default are dropped, they would change nothing), for the native architecture plus
// profile.architectures. The filter does not set no_new_privs itself and does not sync threads:
// the launcher sets no_new_privs and loads it in a single-threaded child.
[[nodiscard]] Result<SeccompProgram> compile_seccomp(const SeccompProfile& profile);

// Child side, async-signal-safe: installs the program with seccomp(SECCOMP_SET_MODE_FILTER), or
// prctl(PR_SET_SECCOMP) on kernels without seccomp(2). Without CAP_SYS_ADMIN the kernel requires
// no_new_privs to be set first (prctl(PR_SET_NO_NEW_PRIVS, 1)). Load it last, right before execve,
// so the launcher's own setup calls are not filtered. Returns 0 or the errno of the failing call.
int load_seccomp(const SeccompProgram& program) noexcept;

}  // namespace slipway::runtime
