// The write side shared by the layer writers (import, build diffs): a tar stream hashed for its
// diff_id, gzipped, and the gzip bytes hashed and written to a staged blob file. Handles, error
// text and the file copy come from oci/libarchive.h.
#pragma once

#include <unistd.h>

#include <cerrno>

#include "oci/digest.h"
#include "oci/libarchive.h"

namespace slipway::oci::layer_tar {

// The only xattr Docker carries into layers: file capabilities (ping, newuidmap, ...).
inline constexpr const char* kCapabilityXattr = "security.capability";

// Compressed side: hashes the gzip bytes and writes them to the staged file.
struct BlobSink {
  int fd;
  Sha256 hash;
  int err = 0;
  static la_ssize_t write(struct archive*, void* ctx, const void* buf, size_t n) {
    auto* self = static_cast<BlobSink*>(ctx);
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::write(self->fd, static_cast<const char*>(buf) + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        self->err = errno;
        return -1;
      }
      done += static_cast<size_t>(w);
    }
    self->hash.update(buf, n);
    return static_cast<la_ssize_t>(n);
  }
};

// Uncompressed side: hashes the tar bytes (the diff_id) and feeds them to the gzip writer.
struct TarSink {
  struct archive* gzip;
  Sha256 hash;
  static la_ssize_t write(struct archive*, void* ctx, const void* buf, size_t n) {
    auto* self = static_cast<TarSink*>(ctx);
    self->hash.update(buf, n);
    la_ssize_t w = archive_write_data(self->gzip, buf, n);
    return w < 0 ? -1 : static_cast<la_ssize_t>(n);
  }
};

}  // namespace slipway::oci::layer_tar
