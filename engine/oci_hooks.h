// The hooks of an OCI bundle: each runs with the container's state JSON on its stdin, its own args
// and env, and a timeout; what it prints goes into the error when it fails.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/oci_config.h"

namespace slipway::engine {

// Runs `hooks` in order, in the runtime's namespaces, stopping at the first that fails (non-zero
// exit, killed, or past its timeout): `createRuntime hook /usr/bin/x: exited with code 3: <its
// output>`.
[[nodiscard]] Status run_oci_hooks(const std::vector<OciHook>& hooks, std::string_view kind,
                                   const std::string& state_json);

}  // namespace slipway::engine
