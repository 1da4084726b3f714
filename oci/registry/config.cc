#include "oci/registry/config.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace slipway::oci {
namespace {

// "https://mirror.example/", "http://127.0.0.1:5001", "mirror.example:443" -> host[:port].
Result<RegistryMirror> parse_mirror(std::string_view url) {
  RegistryMirror m;
  if (url.starts_with("http://")) {
    m.plain_http = true;
    url.remove_prefix(7);
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
  }
  while (url.ends_with('/')) url.remove_suffix(1);
  if (url.empty() || url.find_first_of("/?#@ ") != std::string_view::npos)
    return fail("registry mirror \"{}\": a URL of a registry's root is expected", url);
  m.host = std::string(url);
  return m;
}

}  // namespace

bool RegistryConfig::is_insecure(std::string_view registry) const {
  return std::find(insecure.begin(), insecure.end(), registry) != insecure.end();
}

Result<RegistryConfig> parse_registry_config(std::string_view text, std::string_view where) {
  RegistryConfig config;
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object()) return fail("{}: a JSON object is expected", where);
    for (const auto& [key, value] : j.items()) {
      if (key != "registry-mirrors" && key != "insecure-registries")
        return fail("{}: unknown key \"{}\" (registry-mirrors, insecure-registries)", where, key);
      if (!value.is_array()) return fail("{}: \"{}\" must be a list of strings", where, key);
      for (const auto& v : value) {
        if (!v.is_string()) return fail("{}: \"{}\" must be a list of strings", where, key);
        std::string s = v.get<std::string>();
        if (key == "registry-mirrors")
          config.mirrors.push_back(SLW_TRY(with_context(parse_mirror(s), where)));
        else
          config.insecure.push_back(s);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return fail("{}: {}", where, e.what());
  }
  return config;
}

Result<RegistryConfig> load_registry_config(const std::string& root) {
  std::string path = fs::join(root, "registries.json");
  if (!fs::exists(path)) return RegistryConfig{};
  return parse_registry_config(SLW_TRY(fs::read_file(path)), path);
}

std::vector<PullSource> pull_sources(const RegistryReference& source, const RegistryConfig& config) {
  std::vector<PullSource> out;
  if (source.registry == kDockerHubRegistry) {
    for (const auto& m : config.mirrors) {
      PullSource mirror{source, m.plain_http};
      mirror.ref.registry = m.host;
      out.push_back(std::move(mirror));
    }
  }
  out.push_back({source, config.is_insecure(source.registry)});
  return out;
}

}  // namespace slipway::oci
