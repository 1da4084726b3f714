#include "oci/image_spec.h"

#include <nlohmann/json.hpp>

#include "oci/digest.h"

namespace slipway::oci {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

Result<json> parse_object(std::string_view text, std::string_view what) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail("{}: not valid JSON", what);
  if (!doc.is_object()) return fail("{}: not a JSON object", what);
  return doc;
}

// Optional string field: missing or null yields "".
Result<std::string> get_string(const json& obj, const char* key, std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return fail("{}: field '{}' must be a string", what, key);
  return it->get<std::string>();
}

Result<std::vector<std::string>> get_strings(const json& obj, const char* key,
                                             std::string_view what) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return fail("{}: field '{}' must be an array of strings", what, key);
  for (const auto& v : *it) {
    if (!v.is_string()) return fail("{}: field '{}' must be an array of strings", what, key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::map<std::string, std::string>> get_string_map(const json& obj, const char* key,
                                                          std::string_view what) {
  std::map<std::string, std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object()) return fail("{}: field '{}' must be an object of strings", what, key);
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return fail("{}: field '{}.{}' must be a string", what, key, k);
    out[k] = v.get<std::string>();
  }
  return out;
}

// Docker writes sets such as ExposedPorts and Volumes as objects whose keys are the members.
Result<std::vector<std::string>> get_key_set(const json& obj, const char* key,
                                             std::string_view what) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object()) return fail("{}: field '{}' must be an object", what, key);
  for (const auto& [k, v] : it->items()) out.push_back(k);
  return out;
}

Status check_schema_version(const json& doc, std::string_view what) {
  auto it = doc.find("schemaVersion");
  if (it == doc.end()) return fail("{}: missing schemaVersion", what);
  if (!it->is_number_integer()) return fail("{}: schemaVersion must be an integer", what);
  if (it->get<int64_t>() == 1)
    return fail("{}: schema 1 manifests are not supported (convert the image to OCI or Docker v2)",
                what);
  if (it->get<int64_t>() != 2) return fail("{}: unsupported schemaVersion {}", what, it->dump());
  return {};
}

Result<int64_t> get_int(const json& obj, const char* key, std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return 0;
  if (!it->is_number_integer()) return fail("{}: field '{}' must be an integer", what, key);
  return it->get<int64_t>();
}

Result<Platform> parse_platform(const json& obj, std::string_view what) {
  if (!obj.is_object()) return fail("{}: platform must be an object", what);
  Platform p;
  p.os = SLW_TRY(get_string(obj, "os", what));
  p.architecture = SLW_TRY(get_string(obj, "architecture", what));
  p.variant = SLW_TRY(get_string(obj, "variant", what));
  return p;
}

Result<Descriptor> parse_descriptor(const json& obj, std::string_view what) {
  if (!obj.is_object()) return fail("{}: descriptor must be an object", what);
  Descriptor d;
  d.media_type = SLW_TRY(get_string(obj, "mediaType", what));
  d.digest = SLW_TRY(get_string(obj, "digest", what));
  if (d.digest.empty()) return fail("{}: descriptor without a digest", what);
  if (auto hex = digest_hex(d.digest); !hex) return std::unexpected(hex.error().context(what));
  auto size = obj.find("size");
  if (size == obj.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
    return fail("{}: descriptor {} needs a non-negative integer size", what, d.digest);
  d.size = size->get<int64_t>();
  if (auto p = obj.find("platform"); p != obj.end() && !p->is_null())
    d.platform = SLW_TRY(parse_platform(*p, what));
  d.annotations = SLW_TRY(get_string_map(obj, "annotations", what));
  d.urls = SLW_TRY(get_strings(obj, "urls", what));
  return d;
}

ordered_json descriptor_json(const Descriptor& d) {
  ordered_json j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest;
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (d.platform) {
    ordered_json p;
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

bool is_attestation(const Descriptor& d) {
  return d.annotations.contains("vnd.docker.reference.type") ||
         (d.platform && d.platform->os == "unknown" && d.platform->architecture == "unknown");
}

}  // namespace

std::string Platform::str() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Result<Manifest> parse_manifest(std::string_view text) try {
  constexpr std::string_view what = "manifest";
  json doc = SLW_TRY(parse_object(text, what));
  SLW_TRY(check_schema_version(doc, what));
  Manifest m;
  m.media_type = SLW_TRY(get_string(doc, "mediaType", what));
  if (!m.media_type.empty() && m.media_type != kMediaTypeOciManifest &&
      m.media_type != kMediaTypeDockerManifest)
    return fail("manifest: unexpected mediaType '{}'", m.media_type);
  auto config = doc.find("config");
  if (config == doc.end()) return fail("manifest: missing config descriptor");
  m.config = SLW_TRY(parse_descriptor(*config, "manifest config"));
  auto layers = doc.find("layers");
  if (layers == doc.end() || !layers->is_array())
    return fail("manifest: field 'layers' must be an array");
  for (size_t i = 0; i < layers->size(); ++i)
    m.layers.push_back(
        SLW_TRY(parse_descriptor((*layers)[i], fmt::format("manifest layer {}", i))));
  m.annotations = SLW_TRY(get_string_map(doc, "annotations", what));
  return m;
} catch (const json::exception& e) {
  return fail("manifest: {}", e.what());
}

Result<Index> parse_index(std::string_view text) try {
  constexpr std::string_view what = "index";
  json doc = SLW_TRY(parse_object(text, what));
  SLW_TRY(check_schema_version(doc, what));
  Index idx;
  idx.media_type = SLW_TRY(get_string(doc, "mediaType", what));
  if (!idx.media_type.empty() && idx.media_type != kMediaTypeOciIndex &&
      idx.media_type != kMediaTypeDockerManifestList)
    return fail("index: unexpected mediaType '{}'", idx.media_type);
  auto manifests = doc.find("manifests");
  if (manifests == doc.end() || !manifests->is_array())
    return fail("index: field 'manifests' must be an array");
  for (size_t i = 0; i < manifests->size(); ++i)
    idx.manifests.push_back(
        SLW_TRY(parse_descriptor((*manifests)[i], fmt::format("index entry {}", i))));
  idx.annotations = SLW_TRY(get_string_map(doc, "annotations", what));
  return idx;
} catch (const json::exception& e) {
  return fail("index: {}", e.what());
}

Result<std::optional<Healthcheck>> parse_healthcheck(const json& config, std::string_view what) {
  auto h = config.find("Healthcheck");
  if (h == config.end() || h->is_null()) return std::optional<Healthcheck>();
  if (!h->is_object()) return fail("{}: field 'Healthcheck' must be an object", what);
  Healthcheck hc;
  hc.test = SLW_TRY(get_strings(*h, "Test", what));
  hc.interval_ns = SLW_TRY(get_int(*h, "Interval", what));
  hc.timeout_ns = SLW_TRY(get_int(*h, "Timeout", what));
  hc.start_period_ns = SLW_TRY(get_int(*h, "StartPeriod", what));
  hc.start_interval_ns = SLW_TRY(get_int(*h, "StartInterval", what));
  hc.retries = static_cast<int>(SLW_TRY(get_int(*h, "Retries", what)));
  return std::optional<Healthcheck>(std::move(hc));
}

Result<ConfigFile> parse_config(std::string_view text) try {
  constexpr std::string_view what = "image config";
  json doc = SLW_TRY(parse_object(text, what));
  ConfigFile c;
  c.platform.os = SLW_TRY(get_string(doc, "os", what));
  c.platform.architecture = SLW_TRY(get_string(doc, "architecture", what));
  c.platform.variant = SLW_TRY(get_string(doc, "variant", what));
  c.created = SLW_TRY(get_string(doc, "created", what));
  if (auto cfg = doc.find("config"); cfg != doc.end() && !cfg->is_null()) {
    if (!cfg->is_object()) return fail("image config: field 'config' must be an object");
    ImageConfig& ic = c.config;
    ic.user = SLW_TRY(get_string(*cfg, "User", what));
    ic.env = SLW_TRY(get_strings(*cfg, "Env", what));
    ic.entrypoint = SLW_TRY(get_strings(*cfg, "Entrypoint", what));
    ic.cmd = SLW_TRY(get_strings(*cfg, "Cmd", what));
    ic.working_dir = SLW_TRY(get_string(*cfg, "WorkingDir", what));
    ic.stop_signal = SLW_TRY(get_string(*cfg, "StopSignal", what));
    ic.labels = SLW_TRY(get_string_map(*cfg, "Labels", what));
    ic.exposed_ports = SLW_TRY(get_key_set(*cfg, "ExposedPorts", what));
    ic.volumes = SLW_TRY(get_key_set(*cfg, "Volumes", what));
    ic.healthcheck = SLW_TRY(parse_healthcheck(*cfg, what));
  }
  auto rootfs = doc.find("rootfs");
  if (rootfs == doc.end() || !rootfs->is_object())
    return fail("image config: missing rootfs object");
  std::string type = SLW_TRY(get_string(*rootfs, "type", what));
  if (type != "layers") return fail("image config: rootfs type is '{}', want 'layers'", type);
  c.diff_ids = SLW_TRY(get_strings(*rootfs, "diff_ids", what));
  for (const auto& d : c.diff_ids)
    if (auto hex = digest_hex(d); !hex) return std::unexpected(hex.error().context("image config"));
  return c;
} catch (const json::exception& e) {
  return fail("image config: {}", e.what());
}

Result<DocumentKind> detect_document(std::string_view text,
                                     std::string_view descriptor_media_type) {
  auto by_type = [](std::string_view mt) -> std::optional<DocumentKind> {
    if (mt == kMediaTypeOciIndex || mt == kMediaTypeDockerManifestList) return DocumentKind::kIndex;
    if (mt == kMediaTypeOciManifest || mt == kMediaTypeDockerManifest)
      return DocumentKind::kManifest;
    return std::nullopt;
  };
  if (auto k = by_type(descriptor_media_type)) return *k;
  json doc = SLW_TRY(parse_object(text, "manifest"));
  if (auto mt = doc.find("mediaType"); mt != doc.end() && mt->is_string())
    if (auto k = by_type(mt->get<std::string>())) return *k;
  if (doc.contains("manifests")) return DocumentKind::kIndex;
  if (doc.contains("layers") || doc.contains("config")) return DocumentKind::kManifest;
  if (!descriptor_media_type.empty())
    return fail("unsupported media type '{}' (want an image manifest or index)",
                descriptor_media_type);
  return fail("neither an image manifest nor an image index");
}

bool is_layer_media_type(std::string_view mt) {
  static constexpr std::string_view kTypes[] = {
      kMediaTypeOciLayer,
      kMediaTypeOciLayerGzip,
      kMediaTypeOciLayerZstd,
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      kMediaTypeDockerLayer,
      kMediaTypeDockerForeignLayer,
  };
  for (auto t : kTypes)
    if (mt == t) return true;
  return false;
}

bool is_config_media_type(std::string_view mt) {
  return mt == kMediaTypeOciConfig || mt == kMediaTypeDockerConfig;
}

Platform host_platform() {
#if defined(__x86_64__)
  return {"linux", "amd64", ""};
#elif defined(__aarch64__)
  return {"linux", "arm64", "v8"};
#elif defined(__arm__)
  return {"linux", "arm", "v7"};
#elif defined(__i386__)
  return {"linux", "386", ""};
#elif defined(__riscv) && __riscv_xlen == 64
  return {"linux", "riscv64", ""};
#elif defined(__s390x__)
  return {"linux", "s390x", ""};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"linux", "ppc64le", ""};
#else
#error "unknown architecture: add its OCI name to host_platform()"
#endif
}

Result<Descriptor> select_manifest(const Index& index, const Platform& want) {
  std::vector<const Descriptor*> candidates;
  bool any_platform = false;
  for (const auto& d : index.manifests) {
    if (is_attestation(d)) continue;
    if (!d.media_type.empty() && d.media_type != kMediaTypeOciManifest &&
        d.media_type != kMediaTypeDockerManifest)
      continue;
    candidates.push_back(&d);
    any_platform = any_platform || d.platform.has_value();
  }
  if (!any_platform && candidates.size() == 1) return *candidates.front();
  const Descriptor* loose = nullptr;
  std::vector<std::string> seen;
  for (const Descriptor* d : candidates) {
    if (!d->platform) continue;
    const Platform& p = *d->platform;
    seen.push_back(p.str());
    if (p.os != want.os || p.architecture != want.architecture) continue;
    if (p.variant == want.variant) return *d;
    if (!loose && (p.variant.empty() || want.variant.empty())) loose = d;
  }
  if (loose) return *loose;
  std::string have;
  for (const auto& s : seen) have += (have.empty() ? "" : ", ") + s;
  return fail("no image for {} in the index (it has: {})", want.str(),
              have.empty() ? "no platform entries" : have);
}

std::string to_json(const Manifest& m) {
  ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = m.media_type.empty() ? std::string(kMediaTypeOciManifest) : m.media_type;
  j["config"] = descriptor_json(m.config);
  j["layers"] = ordered_json::array();
  for (const auto& l : m.layers) j["layers"].push_back(descriptor_json(l));
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string to_json(const Index& idx) {
  ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = idx.media_type.empty() ? std::string(kMediaTypeOciIndex) : idx.media_type;
  j["manifests"] = ordered_json::array();
  for (const auto& d : idx.manifests) j["manifests"].push_back(descriptor_json(d));
  if (!idx.annotations.empty()) j["annotations"] = idx.annotations;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace slipway::oci
