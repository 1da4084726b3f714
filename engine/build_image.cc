#include "engine/build_image.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "base/file_lock.h"
#include "base/fs.h"
#include "base/unique_fd.h"
#include "engine/build_runner.h"
#include "oci/digest.h"
#include "oci/build/output.h"
#include "oci/dockerfile/dockerignore.h"
#include "oci/dockerfile/instructions.h"
#include "oci/reference.h"
#include "oci/store/image_store.h"

extern char** environ;

namespace slipway::engine {
namespace {

Result<int64_t> parse_epoch(std::string_view text, std::string_view where) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 0)
    return fail("invalid SOURCE_DATE_EPOCH \"{}\" from {}: seconds since 1970 expected", text,
                where);
  return v;
}

// True when dir or a parent holds .git: only then is git asked (it costs milliseconds).
bool in_git_work_tree(const std::string& dir) {
  std::error_code ec;
  for (auto p = std::filesystem::absolute(dir, ec); !ec && !p.empty(); p = p.parent_path()) {
    if (std::filesystem::exists(p / ".git", ec)) return true;
    if (p == p.parent_path()) break;
  }
  return false;
}

// The commit time of the context's git work tree, or nullopt when git or the work tree is absent.
std::optional<int64_t> git_commit_time(const std::string& dir) {
  if (!in_git_work_tree(dir)) return std::nullopt;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return std::nullopt;
  UniqueFd read_end(out[0]), write_end(out[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> argv = {"git", "-C", dir, "log", "-1", "--format=%ct"};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, "git", &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  write_end.reset();
  if (rc != 0) return std::nullopt;  // no git on this host
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  auto v = parse_epoch(text, "git");
  return v ? std::optional<int64_t>(*v) : std::nullopt;
}

}  // namespace

Result<int64_t> source_date_epoch(const oci::VarMap& build_args, const std::string& context) {
  if (auto it = build_args.find("SOURCE_DATE_EPOCH"); it != build_args.end())
    return parse_epoch(it->second, "--build-arg");
  if (const char* env = std::getenv("SOURCE_DATE_EPOCH"); env && *env)
    return parse_epoch(env, "the environment");
  return git_commit_time(context).value_or(0);
}

namespace {

// One digest cache per context directory (by its real path), in the store's cache.
std::string context_digest_cache(const std::string& root, const std::string& context) {
  std::error_code ec;
  std::string real = std::filesystem::canonical(context, ec).string();
  if (ec) return "";
  std::string name = oci::sha256_digest(real).substr(7, 32);
  return fs::join(root, "cache/build-context/" + name);
}

}  // namespace

Result<oci::BuildResult> build_image(const ImageBuild& b) {
  if (b.network != "none" && b.network != "host" && b.network != "default")
    return fail("invalid --network {}: builds use default, none or host", b.network);
  for (const auto& t : b.tags) {
    oci::Reference ref = SLW_TRY(with_context(oci::parse_reference(t), fmt::format("-t {}", t)));
    if (!ref.digest.empty()) return fail("-t {}: a tag cannot pin a digest", t);
  }
  std::vector<oci::BuildOutput> outputs;
  for (const auto& o : b.outputs) outputs.push_back(SLW_TRY(oci::parse_build_output(o)));
  if (!fs::is_dir(b.context)) return fail("build context {} is not a directory", b.context);
  // The context's own Dockerfile is resolved inside the context: a symlink in it cannot make the
  // build read (and quote) a host file. A -f path is the user's own choice, as with Docker.
  std::string dockerfile = b.file.empty() ? fs::join(b.context, "Dockerfile") : b.file;
  std::string text = SLW_TRY(with_context(
      b.file.empty() ? fs::read_file_in_root(b.context, "Dockerfile") : fs::read_file(b.file),
      "read the Dockerfile"));
  std::string name = dockerfile.substr(dockerfile.rfind('/') + 1);
  oci::Dockerfile df = SLW_TRY(oci::parse_dockerfile(text, name));

  oci::BuildOptions options;
  options.build_args = b.build_args;
  options.target = b.target;
  options.network = b.network;
  options.source_date_epoch = SLW_TRY(source_date_epoch(options.build_args, b.context));

  auto store = SLW_TRY(oci::ImageStore::open(b.root));
  // ADD <URL> downloads land next to the blobs (same file system, never /tmp's size limits).
  options.download_dir = store.blobs().tmp_dir();
  FileLock hold = SLW_TRY(store.hold_for_build());
  oci::Dockerignore ignore = SLW_TRY(oci::load_dockerignore(b.context, dockerfile));
  oci::StorePlanInputs inputs(store, b.context, std::move(ignore));
  inputs.find_image = [&](std::string_view ref) { return find_image(store, ref, b.images); };
  inputs.digest_cache = context_digest_cache(b.root, b.context);
  oci::BuildPlan plan = SLW_TRY(oci::plan_build(df, options, inputs));
  inputs.save_digest_cache();  // planning digested what COPY and ADD read
  if (b.warn)
    for (const auto& w : plan.warnings) b.warn(w);

  BuildRunner runner(b.root, b.run_root, b.cancel_fd);
  oci::EngineOptions eo;
  eo.no_cache = b.no_cache;
  eo.tags = b.tags;
  eo.cancelled = b.cancelled;
  eo.progress = b.progress;
  oci::BuildResult built = SLW_TRY(oci::run_build(plan, store, inputs, runner, eo));
  for (const auto& out : outputs)
    SLW_TRY(with_context(oci::write_build_output(store, built.image, out, plan.source_date_epoch),
                         fmt::format("--output {}", out.path)));
  return built;
}

}  // namespace slipway::engine
