// A scratch directory for targets that need files, made once per fuzzing process and emptied
// between inputs.
#pragma once

#include <cstdlib>
#include <string>

#include "base/fs.h"

namespace slipway::fuzz {

inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/slipway-fuzz.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    std::atexit([] { (void)fs::remove_tree(scratch_dir()); });
    return std::string(tmpl);
  }();
  return dir;
}

// Removes everything in the scratch dir (a failing input may leave files in it).
inline void empty_scratch_dir() {
  for (const auto& name : fs::list_dir(scratch_dir()).value_or(std::vector<std::string>{}))
    if (!fs::remove_tree(fs::join(scratch_dir(), name))) std::abort();
}

}  // namespace slipway::fuzz
