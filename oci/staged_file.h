// Temp files hashed while they are written: how every blob reaches the store (and a packed layer
// its caller), and what `gc` removes when the process that wrote one was killed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

// A file written into a temp directory, hashed while it was written.
struct StagedFile {
  std::string path;
  std::string digest;  // "sha256:..."
  int64_t size = 0;
};

// Entries of a tmp dir named WORD-PID-... (staged blobs, build scratch dirs) whose process is
// gone: what a killed pull, load or build left. Removes them and returns their names.
Result<std::vector<std::string>> remove_partial_files(const std::string& tmp_dir);

// Copies fd from its current offset to the end into a new file in dir (named prefix-<pid>-XXXXXX),
// hashing the bytes on the way. With declared_size, stops as soon as more than that arrives. On
// error nothing is left behind.
Result<StagedFile> stage_file(int fd, const std::string& dir, std::string_view prefix,
                              std::optional<int64_t> declared_size = std::nullopt);

}  // namespace slipway::oci
