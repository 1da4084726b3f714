#include "pipeline/secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>

#include "base/fs.h"
#include "engine/container_config.h"

namespace slipway::pipeline {

std::string default_secrets_file(const std::string& root, const std::string& project) {
  return fs::join(root, "secrets/" + project + ".env");
}

Result<SecretFile> load_secrets(const std::string& path, bool required) {
  SecretFile out;
  out.path = path;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT && !required) return out;
    if (errno == ELOOP) return fail("secrets file {}: is a symlink; give the file itself", path);
    return fail_errno(fmt::format("secrets file {}", path));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return fail_errno(fmt::format("secrets file {}", path));
  if (!S_ISREG(st.st_mode)) return fail("secrets file {}: not a regular file", path);
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return fail("secrets file {}: owned by uid {}; it must belong to root (or to the user running slipway)", path,
                st.st_uid);
  if (st.st_mode & 077)
    return fail("secrets file {}: mode {:04o} lets other users at it; chmod 600 it", path, st.st_mode & 07777);
  std::string text = SLW_TRY_CTX(fs::read_all(fd.get(), path), "secrets file {}", path);
  for (const auto& line : SLW_TRY(engine::parse_env_file(text, path))) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) return fail("secrets file {}: {} has no value (want NAME=VALUE)", path, line);
    out.values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

Result<std::vector<std::string>> used_secret_values(const PipelineSpec& spec, const std::vector<const StepSpec*>& steps,
                                                    const SecretFile& secrets) {
  std::vector<std::string> values;
  for (const StepSpec* step : steps) {
    for (const SecretUse& use : step->secrets) {
      auto it = secrets.values.find(use.name);
      auto where = [&] { return fmt::format("{}:{}: steps.{}.secrets", spec.file, step->line, step->name); };
      if (it == secrets.values.end())
        return fail("{}: {} is not in {}", where(), use.name,
                    secrets.path.empty() ? "any secrets file (give one with --secrets FILE)" : secrets.path);
      if (it->second.size() < kMinSecretLength)
        return fail("{}: the value of {} is shorter than {} bytes, too short to mask in logs", where(), use.name,
                    kMinSecretLength);
      if (!use.as_file && it->second.find('\n') != std::string::npos)
        return fail("{}: the value of {} holds a newline; use it as a file (as: file)", where(), use.name);
      values.push_back(it->second);
    }
  }
  return values;
}

Result<StepSecretFiles> write_step_secrets(const std::string& dir, const std::vector<SecretUse>& uses,
                                           const SecretFile& secrets) {
  StepSecretFiles out;
  if (uses.empty()) return out;
  SLW_TRY(fs::make_dirs(dir, 0700));
  std::string env;
  for (const SecretUse& use : uses) {
    const std::string& value = secrets.values.at(use.name);  // checked by used_secret_values
    if (!use.as_file) {
      env += use.name + "=" + value + "\n";
      continue;
    }
    out.files_dir = fs::join(dir, "files");
    SLW_TRY(fs::make_dirs(out.files_dir, 0700));
    SLW_TRY(fs::write_file(fs::join(out.files_dir, use.name), value, 0400));
  }
  if (!env.empty()) {
    out.env_file = fs::join(dir, "env");
    SLW_TRY(fs::write_file(out.env_file, env, 0600));
  }
  return out;
}

std::string step_secrets_dir(const std::string& run_root, const std::string& run_short_id, const std::string& step) {
  return fs::join(run_root, fmt::format("pipeline-secrets/{}-{}-{}", ::getpid(), run_short_id, step));
}

Result<std::vector<std::string>> remove_orphan_secret_dirs(const std::string& run_root) {
  std::vector<std::string> removed;
  std::string parent = fs::join(run_root, "pipeline-secrets");
  auto names = fs::list_dir(parent);
  if (!names) return removed;
  for (const auto& name : *names) {
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end == name.data() + name.size() || *end != '-' || !fs::process_gone(pid)) continue;
    SLW_TRY(fs::remove_tree(fs::join(parent, name)));
    removed.push_back(name);
  }
  return removed;
}

}  // namespace slipway::pipeline
