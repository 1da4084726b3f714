#include "oci/registry/credentials.h"

#include <nettle/base64.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "oci/registry/credential_helper.h"
#include "oci/registry/reference.h"

namespace slipway::oci {

namespace {

// "https://index.docker.io/v1/" -> "index.docker.io"; "127.0.0.1:5000" stays.
std::string_view auths_key_host(std::string_view key) {
  if (auto scheme = key.find("://"); scheme != std::string_view::npos)
    key.remove_prefix(scheme + 3);
  return key.substr(0, key.find('/'));
}

bool same_registry(std::string_view key_host, std::string_view registry) {
  auto hub = [](std::string_view h) {
    return h == kDockerHubRegistry || h == "index.docker.io" || h == kDockerHubApiHost;
  };
  return key_host == registry || (hub(key_host) && hub(registry));
}

Result<std::optional<Credentials>> entry_credentials(const nlohmann::json& entry,
                                                     std::string_view key) {
  if (!entry.is_object()) return fail("auths entry '{}' is not an object", key);
  auto str = [&](const char* field) -> std::string {
    auto it = entry.find(field);
    return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (std::string auth = str("auth"); !auth.empty()) {
    auto decoded = base64_decode(auth);
    if (!decoded) return fail("auths entry '{}': field 'auth' is not base64", key);
    auto creds = parse_creds(*decoded);
    if (!creds) return fail("auths entry '{}': field 'auth' is not base64 of user:password", key);
    return std::optional<Credentials>(*creds);
  }
  std::string user = str("username"), pass = str("password");
  if (!user.empty()) return std::optional<Credentials>(Credentials{user, pass});
  // An empty entry is what `docker login` leaves when a credential helper holds the secret.
  return std::optional<Credentials>();
}

}  // namespace

Result<Credentials> parse_creds(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail("credentials must be USER:PASSWORD");
  return Credentials{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

Result<std::optional<Credentials>> find_docker_credentials(std::string_view config_json,
                                                           std::string_view registry) {
  auto doc = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail("not a JSON object");
  auto auths = doc.find("auths");
  if (auths == doc.end() || auths->is_null()) return std::optional<Credentials>();
  if (!auths->is_object()) return fail("field 'auths' must be an object");
  // An exact key wins over one that only matches after its scheme and path are dropped.
  if (auto it = auths->find(std::string(registry)); it != auths->end()) {
    auto found = SLW_TRY(entry_credentials(*it, it.key()));
    if (found) return found;
  }
  for (const auto& [key, entry] : auths->items()) {
    if (!same_registry(auths_key_host(key), registry)) continue;
    auto found = SLW_TRY(entry_credentials(entry, key));
    if (found) return found;
  }
  return std::optional<Credentials>();
}

std::string docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir)
    return fs::join(dir, "config.json");
  std::string home;
  if (const char* h = std::getenv("HOME"); h && *h) {
    home = h;
  } else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) {
    home = pw->pw_dir;
  }
  return fs::join(home, ".docker/config.json");
}

Result<std::optional<Credentials>> load_docker_credentials(std::string_view registry) {
  std::string path = docker_config_path();
  if (!fs::exists(path)) return std::optional<Credentials>();
  std::string text = SLW_TRY(fs::read_file(path));
  auto helper = SLW_TRY(with_context(credential_helper_for(text, registry), path));
  if (helper) return helper_get(*helper, registry);
  return with_context(find_docker_credentials(text, registry), path);
}

namespace {

// config.json as a JSON object ({} when there is no file yet).
Result<nlohmann::json> read_docker_config(const std::string& path) {
  if (!fs::exists(path)) return nlohmann::json::object();
  std::string text = SLW_TRY(fs::read_file(path));
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail("{}: not a JSON object", path);
  if (doc.contains("auths") && !doc["auths"].is_object() && !doc["auths"].is_null())
    return fail("{}: field 'auths' must be an object", path);
  return doc;
}

Status write_docker_config(const std::string& path, const nlohmann::json& doc) {
  SLW_TRY(fs::make_dirs(std::filesystem::path(path).parent_path().string(), 0700));
  return fs::write_file_atomic(path, doc.dump(1, '\t') + "\n", 0600);
}

}  // namespace

Status save_docker_login(std::string_view registry, const Credentials& creds) {
  std::string path = docker_config_path();
  nlohmann::json doc = SLW_TRY(read_docker_config(path));
  auto helper = SLW_TRY(with_context(credential_helper_for(doc.dump(), registry), path));
  std::string key = helper_server_url(registry);
  nlohmann::json& auths = doc["auths"];
  if (auths.is_null()) auths = nlohmann::json::object();
  if (helper) {
    SLW_TRY(helper_store(*helper, registry, creds));
    auths[key] = nlohmann::json::object();
  } else {
    auths[key] = {{"auth", base64_encode(creds.username + ":" + creds.password)}};
  }
  return write_docker_config(path, doc);
}

Result<bool> remove_docker_login(std::string_view registry) {
  std::string path = docker_config_path();
  if (!fs::exists(path)) return false;
  nlohmann::json doc = SLW_TRY(read_docker_config(path));
  bool removed = false;
  if (auto helper = SLW_TRY(with_context(credential_helper_for(doc.dump(), registry), path))) {
    removed = SLW_TRY(helper_get(*helper, registry)).has_value();
    SLW_TRY(helper_erase(*helper, registry));
  }
  if (doc.contains("auths") && doc["auths"].is_object()) {
    auto& auths = doc["auths"];
    for (auto it = auths.begin(); it != auths.end();) {
      if (same_registry(auths_key_host(it.key()), registry)) {
        it = auths.erase(it);
        removed = true;
      } else {
        ++it;
      }
    }
  }
  SLW_TRY(write_docker_config(path, doc));
  return removed;
}

std::string base64_encode(std::string_view data) {
  std::string out(BASE64_ENCODE_RAW_LENGTH(data.size()), '\0');
  base64_encode_raw(out.data(), data.size(), reinterpret_cast<const uint8_t*>(data.data()));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() % 4 != 0) return fail("base64 length is not a multiple of 4");
  std::string out(BASE64_DECODE_LENGTH(text.size()), '\0');
  base64_decode_ctx ctx;
  base64_decode_init(&ctx);
  size_t n = out.size();
  if (!base64_decode_update(&ctx, &n, reinterpret_cast<uint8_t*>(out.data()), text.size(), text.data()) ||
      !base64_decode_final(&ctx))
    return fail("invalid base64");
  out.resize(n);
  return out;
}

}  // namespace slipway::oci
