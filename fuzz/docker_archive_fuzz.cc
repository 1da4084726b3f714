// `image load` of a hostile archive: the input is the archive file (docker-archive or OCI layout
// in a tar); every image it names is planned and ingested into a scratch blob store.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/fs.h"
#include "fuzz/fuzz_dir.h"
#include "oci/store/blob_store.h"
#include "oci/store/loader.h"
#include "oci/store/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace slipway;
  const std::string& dir = fuzz::scratch_dir();
  std::string archive = fs::join(dir, "image.tar");
  if (!fs::write_file(archive, std::string_view(reinterpret_cast<const char*>(data), size))) return 0;
  {
    auto source = oci::open_image_source(archive, dir);
    if (source) {
      oci::BlobStore store(fs::join(dir, "store"));
      std::map<std::string, oci::LayerRecord> known;
      oci::ImageLoader loader(store, known);
      if (auto candidates = loader.plan(**source, {}))
        for (const auto& c : *candidates) (void)loader.ingest(**source, c);
    }
  }
  fuzz::empty_scratch_dir();
  return 0;
}
