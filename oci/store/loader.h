// `image load`: turns an ImageSource (OCI layout or docker-archive) into verified blobs in the
// store plus the records to add to images.json. Every blob is checked against its descriptor's
// digest and size, every layer is read once to confirm its config diff_id, and docker-archive
// images are given an OCI manifest of their own.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/store/blob_store.h"
#include "oci/store/source.h"
#include "oci/image_spec.h"
#include "oci/store/index.h"

namespace slipway::oci {

struct LoadOptions {
  // NAME[:TAG] for the loaded image instead of the names the source carries; the source must then
  // hold exactly one image.
  std::string name;
};

struct IngestedImage {
  ImageRecord record;
  std::map<std::string, LayerRecord> layers;  // by layer blob digest
};

// Names per manifest digest, from index annotations: io.containerd.image.name, or an
// org.opencontainers.image.ref.name that is a full reference ("busybox:latest"). A bare tag
// ("latest") borrows the repository of a full name on the same manifest; with none it is dropped
// with a warning. Names are normalized ("docker.io/library/x:1" -> "x:1").
struct IndexNames {
  std::map<std::string, std::vector<std::string>> by_manifest;
  std::vector<std::string> warnings;
};
IndexNames names_from_index(const Index& index);

// Which layer media type an OCI manifest should give a blob, from its first bytes.
Result<std::string> layer_media_type_for(std::string_view magic, std::string_view what);

class ImageLoader {
 public:
  struct Candidate {
    Descriptor manifest;  // OCI layouts
    bool docker = false;  // docker-archive: config and layers named by path
    std::string config_path;
    std::vector<std::string> layer_paths;
    std::vector<std::string> names;
  };

  // known_layers: layer facts already in images.json, so those blobs are not read again.
  ImageLoader(const BlobStore& store, const std::map<std::string, LayerRecord>& known_layers)
      : store_(store), known_layers_(known_layers) {}

  // The images a source holds and their names (options.name replaces them).
  Result<std::vector<Candidate>> plan(const ImageSource& source, const LoadOptions& options);
  // Verifies one image and brings its blobs into the store. A blob enters the store only after
  // its digest and size, and for layers the diff_id, have been checked.
  Result<IngestedImage> ingest(const ImageSource& source, const Candidate& candidate);

  // Checks a layer blob already in the store: it must be a tar whose uncompressed digest is
  // diff_id. Returns what was learnt; blobs known before are not read again.
  Result<LayerRecord> verify_layer(std::string_view blob_digest, std::string_view diff_id);

 private:
  // warn: report names the index could not give (pointless when --name replaces them).
  Result<std::vector<Candidate>> oci_candidates(const ImageSource& source, bool warn);
  Result<std::vector<Candidate>> docker_candidates(const ImageSource& source);
  Result<IngestedImage> ingest_oci(const ImageSource& source, const Candidate& c);
  Result<IngestedImage> ingest_docker(const ImageSource& source, const Candidate& c);
  // Reads a JSON blob of the source and checks it against its descriptor.
  Result<std::string> ingest_json(const ImageSource& source, const Descriptor& d);
  // Brings the layer at rel into the store. expected: its descriptor, or nullptr when the source
  // names layers by path (docker-archive) and the digest is whatever the content hashes to.
  Result<Descriptor> ingest_layer(const ImageSource& source, const std::string& rel,
                                  const Descriptor* expected, std::string_view diff_id,
                                  LayerRecord& record);
  // The facts of the layer file at path (scanned unless known), checked against diff_id.
  Result<LayerRecord> check_layer_file(const std::string& path, const std::string& blob_digest,
                                       std::string_view diff_id);

  const BlobStore& store_;
  std::map<std::string, LayerRecord> known_layers_;
};

}  // namespace slipway::oci
