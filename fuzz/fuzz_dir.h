// A scratch directory for targets that need files, made once per fuzzing process and emptied
// between inputs.
#pragma once

#include <cstdlib>
#include <string>

#include "base/fs.h"

namespace slipway::fuzz {

// A char array, not a std::string: the atexit handler that removes the directory runs after
// static destructors registered later, and a destroyed string would name nothing.
inline std::string scratch_dir() {
  static char dir[] = "/tmp/slipway-fuzz.XXXXXX";
  static const bool made = [] {
    if (::mkdtemp(dir) == nullptr) std::abort();
    std::atexit([] { (void)fs::remove_tree(dir); });
    return true;
  }();
  (void)made;
  return dir;
}

// Removes everything in the scratch dir (a failing input may leave files in it).
inline void empty_scratch_dir() {
  for (const auto& name : fs::list_dir(scratch_dir()).value_or(std::vector<std::string>{}))
    if (!fs::remove_tree(fs::join(scratch_dir(), name))) std::abort();
}

}  // namespace slipway::fuzz
