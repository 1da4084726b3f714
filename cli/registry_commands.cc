// Registry sub-commands: push and pull. Each prints the pushed or pulled reference with its
// manifest digest (NAME:TAG@sha256:...) on stdout; progress bars go to stderr on a terminal.
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "base/fs.h"
#include "base/log.h"
#include "cli/cli.h"
#include "engine/image_source.h"
#include "oci/store/image_store.h"
#include "oci/registry/client.h"
#include "oci/registry/credentials.h"
#include "oci/registry/progress.h"
#include "oci/registry/pull.h"
#include "oci/registry/push.h"
#include "oci/registry/reference.h"

namespace slipway::cli {
namespace {

struct RegistryArgs {
  bool plain_http = false;
  std::string creds_file;
};

struct PushArgs {
  std::string source, dest;
  int64_t chunk_size = oci::kDefaultChunkSize;
  RegistryArgs registry;
};

struct PullArgs {
  std::string source;
  RegistryArgs registry;
};

void add_registry_options(CLI::App* cmd, RegistryArgs& a) {
  cmd->add_flag("--plain-http", a.plain_http,
                "talk HTTP instead of HTTPS (the default for localhost and 127.0.0.0/8)");
  cmd->add_option("--creds-file", a.creds_file,
                  "a file holding USER:PASSWORD for the registry (default: what `login` stored)");
}

// The first line of a file, without its line end.
Result<std::string> first_line_of(const std::string& path) {
  std::string text = SLW_TRY(fs::read_file(path));
  return text.substr(0, text.find_first_of("\r\n"));
}

Result<oci::RegistryOptions> registry_options(const RegistryArgs& a) {
  oci::RegistryOptions o;
  o.plain_http = a.plain_http;
  if (!a.creds_file.empty()) {
    std::string line = SLW_TRY(with_context(first_line_of(a.creds_file), "--creds-file"));
    // Never quote the file: it holds a password.
    auto creds = oci::parse_creds(line);
    if (!creds) return fail("--creds-file {}: the first line must be USER:PASSWORD", a.creds_file);
    o.credentials = *creds;
  }
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Result<int> do_push(const GlobalOptions& g, const PushArgs& a) {
  auto start = std::chrono::steady_clock::now();
  std::string what = fmt::format("push to {}", a.dest);
  auto dest = SLW_TRY(with_context(oci::parse_registry_reference(a.dest), what));
  oci::PushOptions options;
  options.registry = SLW_TRY(with_context(registry_options(a.registry), what));
  if (a.chunk_size < 0) return fail("--chunk-size must not be negative");
  options.chunk_size = a.chunk_size;
  // Bars on a terminal; elsewhere the one summary line below.
  auto progress = ::isatty(STDERR_FILENO) ? oci::terminal_progress(STDERR_FILENO) : nullptr;
  options.progress = progress.get();
  auto store = SLW_TRY(oci::ImageStore::open(g.root));
  auto r = SLW_TRY(with_context(oci::push_image(store, a.source, dest, options), what));
  fmt::print("{}:{}@{}\n", dest.name(), dest.tag, r.digest);
  log::info(
      "pushed {}: {} blobs uploaded ({}), {} mounted, {} already there; {} requests in {:.3f}s",
      dest.str(), r.uploaded, oci::human_bytes(r.bytes_uploaded), r.mounted, r.present,
      r.stats.requests, seconds_since(start));
  return 0;
}

Result<int> do_pull(const GlobalOptions& g, const PullArgs& a) {
  auto start = std::chrono::steady_clock::now();
  std::string what = fmt::format("pull {}", a.source);
  auto source = SLW_TRY(with_context(oci::parse_registry_reference(a.source), what));
  oci::PullOptions options;
  options.registry = SLW_TRY(with_context(registry_options(a.registry), what));
  auto progress = pull_progress();
  options.progress = progress.get();
  auto store = SLW_TRY(oci::ImageStore::open(g.root));
  // Without --creds or --plain-http the root's registries.json applies (mirrors, insecure).
  bool defaults = a.registry.creds_file.empty() && !a.registry.plain_http;
  auto r = SLW_TRY(with_context(defaults ? engine::pull_through_mirrors(store, source, options.progress)
                                         : oci::pull_image(store, source, options),
                                what));
  fmt::print("{}@{}\n", r.name.empty() ? source.name() : r.name, r.manifest_digest);
  log::info("pulled {}: {} layers downloaded ({}), {} already here; {} requests in {:.3f}s",
            source.str(), r.downloaded, oci::human_bytes(r.bytes_downloaded), r.present,
            r.stats.requests, seconds_since(start));
  return 0;
}

struct LoginArgs {
  std::string registry;
  std::string username;
  bool password_stdin = false;
  bool plain_http = false;
};

// Reads the password: from stdin with --password-stdin (its first line), else from the terminal
// without echo.
Result<std::string> read_password(bool from_stdin) {
  if (!from_stdin && !::isatty(STDIN_FILENO))
    return fail("login: no terminal to ask for the password: use --password-stdin");
  struct termios saved {};
  bool echo_off = !from_stdin && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (echo_off) {
    struct termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    fmt::print(stderr, "Password: ");
  }
  std::string line;
  char c;
  for (ssize_t n; (n = ::read(STDIN_FILENO, &c, 1)) != 0 && line.size() < 65536;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || c == '\n') break;
    line += c;
  }
  if (echo_off) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    fmt::print(stderr, "\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return fail("login: the password is empty");
  return line;
}

Result<int> do_login(const LoginArgs& a) {
  std::string registry = a.registry.empty() ? std::string(oci::kDockerHubRegistry) : a.registry;
  if (registry.find('/') != std::string::npos) return fail("login: {} is not a registry host[:port]", registry);
  if (a.username.empty()) return fail("login: --username is required");
  oci::Credentials creds{a.username, SLW_TRY(read_password(a.password_stdin))};
  oci::RegistryOptions options;
  options.plain_http = a.plain_http;
  options.credentials = creds;
  auto client = SLW_TRY(oci::RegistryClient::create(registry, "", "pull", options));
  SLW_TRY(with_context(client.check_login(), fmt::format("login to {}", registry)));
  SLW_TRY(with_context(oci::save_docker_login(registry, creds), oci::docker_config_path()));
  fmt::print("Login Succeeded\n");
  return 0;
}

Result<int> do_logout(const std::string& given) {
  std::string registry = given.empty() ? std::string(oci::kDockerHubRegistry) : given;
  bool removed = SLW_TRY(oci::remove_docker_login(registry));
  if (removed) fmt::print("Removing login credentials for {}\n", registry);
  else fmt::print("Not logged in to {}\n", registry);
  return 0;
}

}  // namespace

void register_registry_commands(CLI::App& app, const GlobalOptions& g, Outcome& outcome) {
  auto push_args = std::make_shared<PushArgs>();
  auto push = app.add_subcommand("push", "push an image to a registry");
  push->add_option("IMAGE", push_args->source, "local image: name[:tag], id or digest")->required();
  push->add_option("DESTINATION", push_args->dest, "REGISTRY/REPO[:TAG]")->required();
  push->add_option("--chunk-size", push_args->chunk_size,
                   "upload blobs larger than this in chunks of this many bytes (0: never)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  add_registry_options(push, push_args->registry);
  push->callback([&g, &outcome, push_args] {
    run_command(outcome, [&]() -> Result<int> { return do_push(g, *push_args); });
  });

  auto pull_args = std::make_shared<PullArgs>();
  auto pull =
      app.add_subcommand("pull", "pull an image from a registry and tag it by its reference");
  pull->add_option("SOURCE", pull_args->source, "REGISTRY/REPO[:TAG|@DIGEST]")->required();
  add_registry_options(pull, pull_args->registry);
  pull->callback([&g, &outcome, pull_args] {
    run_command(outcome, [&]() -> Result<int> { return do_pull(g, *pull_args); });
  });

  auto login_args = std::make_shared<LoginArgs>();
  auto login = app.add_subcommand("login", "store credentials for a registry in the Docker config");
  login->add_option("-u,--username", login_args->username, "user name")->required();
  login->add_flag("--password-stdin", login_args->password_stdin, "read the password from stdin");
  login->add_flag("--plain-http", login_args->plain_http, "talk HTTP instead of HTTPS");
  login->add_option("REGISTRY", login_args->registry, "host[:port] (default: docker.io)");
  login->callback([&outcome, login_args] { run_command(outcome, [&] { return do_login(*login_args); }); });

  auto logout_registry = std::make_shared<std::string>();
  auto logout = app.add_subcommand("logout", "remove a registry's credentials from the Docker config");
  logout->add_option("REGISTRY", *logout_registry, "host[:port] (default: docker.io)");
  logout->callback([&outcome, logout_registry] {
    run_command(outcome, [&] { return do_logout(*logout_registry); });
  });
}

}  // namespace slipway::cli
