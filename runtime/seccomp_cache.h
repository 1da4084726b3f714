// Compiling Docker's profile with libseccomp costs milliseconds per container start; the BPF for a
// given profile never changes, so it is kept in a cache dir keyed by the profile's canonical text.
#pragma once

#include <string>

#include "base/error.h"
#include "runtime/container_spec.h"
#include "runtime/seccomp_filter.h"
#include "runtime/seccomp_profile.h"

namespace slipway::runtime {

// The profile as canonical text: equal texts compile to equal programs.
std::string seccomp_profile_key(const SeccompProfile& profile);

// compile_seccomp through a cache in cache_dir (created if missing); an empty cache_dir compiles
// every time. A cache file whose stored key differs (hash collision, corruption) is recompiled.
Result<SeccompProgram> compile_seccomp_cached(const SeccompProfile& profile, const std::string& cache_dir);

// The filter a container's processes get (its command and every exec): Docker's default profile,
// none, or the profile it names, compiled through the cache.
Result<SeccompProgram> container_seccomp(const SecuritySpec& security, const std::string& cache_dir);

}  // namespace slipway::runtime
