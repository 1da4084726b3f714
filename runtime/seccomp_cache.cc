#include "runtime/seccomp_cache.h"

#include <cstring>

#include "base/fs.h"
#include "base/hash.h"

namespace slipway::runtime {

std::string seccomp_profile_key(const SeccompProfile& p) {
  // The profile's own version so that a change of this format never reuses an old program.
  std::string key = fmt::format("v2 default={}/{} arch=", static_cast<int>(p.default_action), p.default_errno);
  for (const auto& a : p.architectures) key += a + ",";
  for (const auto& r : p.rules) {
    key += fmt::format("\nrule {}/{}", static_cast<int>(r.action), r.errno_ret);
    for (const auto& a : r.args)
      key += fmt::format(" arg{}:{}:{}:{}", a.index, static_cast<int>(a.op), a.value, a.value_two);
    for (const auto& n : r.names) key += " " + n;
  }
  return key;
}

Result<SeccompProgram> compile_seccomp_cached(const SeccompProfile& profile, const std::string& cache_dir) {
  if (cache_dir.empty()) return compile_seccomp(profile);
  std::string key = seccomp_profile_key(profile);
  std::string path = fs::join(cache_dir, fmt::format("seccomp-{:016x}.bpf", fnv1a64(key)));
  // File format: key, a NUL, then the raw sock_filter array.
  if (auto data = fs::read_file(path); data && data->size() > key.size() + 1 &&
                                        data->compare(0, key.size(), key) == 0 &&
                                        (*data)[key.size()] == '\0') {
    size_t bytes = data->size() - key.size() - 1;
    if (bytes % sizeof(sock_filter) == 0) {
      SeccompProgram program;
      program.filter.resize(bytes / sizeof(sock_filter));
      std::memcpy(program.filter.data(), data->data() + key.size() + 1, bytes);
      return program;
    }
  }
  SeccompProgram program = SLW_TRY(compile_seccomp(profile));
  std::string data = key;
  data.push_back('\0');
  data.append(reinterpret_cast<const char*>(program.filter.data()),
              program.filter.size() * sizeof(sock_filter));
  // A failure to cache is not a failure to run.
  if (fs::make_dirs(cache_dir, 0700)) (void)fs::write_file_atomic(path, data, 0600, false);
  return program;
}

Result<SeccompProgram> container_seccomp(const SecuritySpec& sec, const std::string& cache_dir) {
  switch (sec.seccomp) {
    case SeccompMode::kUnconfined:
      return SeccompProgram{};
    case SeccompMode::kFile: {
      std::string json = SLW_TRY(fs::read_file(sec.seccomp_file));
      SeccompProfile profile = SLW_TRY_CTX(parse_seccomp_profile_json(json, sec.capabilities),
                                           "seccomp profile {}", sec.seccomp_file);
      return compile_seccomp_cached(profile, cache_dir);
    }
    case SeccompMode::kProfile: {
      SeccompProfile profile = SLW_TRY_CTX(parse_seccomp_profile_json(sec.seccomp_profile, sec.capabilities),
                                           "seccomp profile");
      return compile_seccomp_cached(profile, cache_dir);
    }
    case SeccompMode::kDefault:
      break;
  }
  return compile_seccomp_cached(docker_default_profile(sec.capabilities), cache_dir);
}

}  // namespace slipway::runtime
