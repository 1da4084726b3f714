// Linux capabilities for a container: names <-> numbers and Docker's add/drop rules in the parent
// (libcap, may allocate), and a child-side apply step that only makes raw syscalls on a precomputed
// plan, so it is safe to run after clone().
//
// Sets are bit masks: bit N is capability number N (CAP_CHOWN = bit 0, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "runtime/container_spec.h"

namespace slipway::runtime {

// "NET_ADMIN", "CAP_NET_ADMIN", "cap_net_admin" -> CAP_NET_ADMIN. Numbers and "ALL" are not names.
// Error: unknown capability "FOO".
[[nodiscard]] Result<int> capability_from_name(std::string_view name);

// "CAP_CHOWN", ... for every bit set, lowest first; bits libcap has no name for come out as
// "CAP_<N>".
std::vector<std::string> capability_names(uint64_t set);

// The highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap, or probed
// with PR_CAPBSET_READ when /proc is not there).
[[nodiscard]] Result<int> kernel_last_capability();

// Every capability up to last_cap.
uint64_t all_capabilities(int last_cap);

// The capabilities this process may still pass on (its bounding set, up to last_cap): a host or a
// parent that dropped one (CAP_SYS_RESOURCE under some CI sandboxes) leaves no child able to hold it.
uint64_t own_bounding_set(int last_cap);

// Docker's default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
// SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE.
uint64_t docker_default_capabilities();

// Docker's --cap-add/--cap-drop rules (names as capability_from_name takes them, or "ALL"):
//   "ALL" in add:  every capability in this process's bounding set, minus the ones named in drop;
//   "ALL" in drop: none of base, only the ones named in add;
//   otherwise:     base minus drop, plus add (add wins when a name is in both).
// A named capability the running kernel does not have is an error.
[[nodiscard]] Result<uint64_t> resolve_capabilities(uint64_t base,
                                                    const std::vector<std::string>& add,
                                                    const std::vector<std::string>& drop);

// What the child needs, computed in the parent.
struct CapabilityPlan {
  uint64_t set = 0;  // bounding = permitted = effective = inheritable after apply, ambient empty
  int last_cap = 0;  // from kernel_last_capability()
  bool separate = false;  // `sets` instead of `set` (an OCI bundle's process.capabilities)
  CapabilitySets sets{};
};

// Builds the plan for `set`, checking that the kernel has every capability in it and that this
// process can pass each on.
[[nodiscard]] Result<CapabilityPlan> plan_capabilities(uint64_t set);
// The same for five sets apart. An ambient capability must be permitted and inheritable too.
[[nodiscard]] Result<CapabilityPlan> plan_capability_sets(const CapabilitySets& sets);

// Child side, async-signal-safe. Call before changing uid: keeps the permitted set across
// setresuid() to a non-zero uid (PR_SET_KEEPCAPS; the kernel clears it again at execve).
// Returns 0 or the errno of the failing call.
int prepare_keep_caps() noexcept;

// Child side, async-signal-safe: no allocation, raw syscalls only. Order in the launcher:
//   prepare_keep_caps(); setgroups(); setresgid(); setresuid(); apply_capabilities(plan);
// The uid change clears the effective set of a non-root user but keeps permitted (thanks to
// keep_caps); this first raises effective back to permitted so CAP_SETPCAP can shrink the bounding
// set, then drops every bounding capability not in plan.set, clears the ambient set and sets
// effective = permitted = inheritable = plan.set (with plan.separate: each set its own, then the
// ambient ones raised). Docker gives no ambient capabilities, so a
// non-root process ends up with an empty effective set after execve, as it does under Docker.
// Returns 0 or the errno of the first failing call.
int apply_capabilities(const CapabilityPlan& plan) noexcept;

}  // namespace slipway::runtime
