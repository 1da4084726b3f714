// The libarchive helpers every archive reader and writer in oci/ shares (layer pack and unpack,
// the store's archive loader, the build's COPY --from archives and --output): owning handles, one
// way to word libarchive's errors, and streaming an open file into the current entry.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::oci {

// Reads from files and archives go in blocks of this size.
inline constexpr size_t kArchiveBlock = 1 << 20;

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;

inline ArchivePtr new_archive_writer() {
  return ArchivePtr(archive_write_new(), archive_write_free);
}
inline ArchivePtr new_archive_reader() {
  return ArchivePtr(archive_read_new(), archive_read_free);
}
inline EntryPtr new_archive_entry() {
  return EntryPtr(archive_entry_new(), archive_entry_free);
}

// libarchive's message for the last error on `a`, or `fallback` when it gave none.
std::string archive_message(struct archive* a, std::string_view fallback = "libarchive error");

// Streams `size` bytes from `fd` into the current entry of `a`, reading through `buf` (at least
// kArchiveBlock bytes). `path` names the file in errors; a file that shrinks is an error.
Status write_entry_data(struct archive* a, int fd, int64_t size, const std::string& path,
                        char* buf);

}  // namespace slipway::oci
