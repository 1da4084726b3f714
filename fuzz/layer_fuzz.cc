// Hostile layer archives (any compression) unpacked into a scratch dir, as `pull` and `image
// load` do with a registry's or a file's blobs. Nothing may land outside the layer's directory.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "base/unique_fd.h"
#include "fuzz/fuzz_dir.h"
#include "oci/layer/unpacker.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slipway;
  UniqueFd blob(::memfd_create("layer", MFD_CLOEXEC));
  if (!blob || ::write(blob.get(), data, size) != static_cast<ssize_t>(size)) return 0;
  const std::string& dir = fuzz::scratch_dir();
  ::lseek(blob.get(), 0, SEEK_SET);
  (void)oci::scan_layer(blob.get());
  ::lseek(blob.get(), 0, SEEK_SET);
  (void)oci::unpack_layer(blob.get(), "", dir, fs::join(dir, "layer"));
  fuzz::empty_scratch_dir();
  return 0;
}
