// The slipway binary as containers could see it. The child of `run` and `exec` runs slipway's own
// code inside the container until it execs the command, and `--init` stays slipway for the whole
// run. A process there that may open /proc/PID/exe could hold the file and rewrite the host's
// binary once every slipway process has exited, as in runc's CVE-2019-5736. Those children are
// not dumpable and hold capabilities the container lacks, so the kernel refuses that to every
// container process without CAP_SYS_PTRACE. For containers with it, `run` and `exec` run from a
// read-only view of the binary: a detached, read-only bind mount of the file (nothing copied),
// exec'd once before anything else. Not for every container: the extra exec costs 2-3 ms here.
#pragma once

#include "base/error.h"
#include "runtime/container_spec.h"

namespace slipway::runtime {

// True when processes of this container may open /proc/PID/exe of slipway's children in it.
bool can_reach_runtime_binary(const ContainerSpec& spec);

// Re-executes this process, with the same argv and environment, from a read-only view of its own
// executable, unless it already runs from one. Returns only on failure; as non-root (which cannot
// start containers) it returns success without doing anything.
Status reexec_from_readonly_binary(char** argv);

}  // namespace slipway::runtime
