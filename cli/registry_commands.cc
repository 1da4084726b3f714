// Registry sub-commands: push and pull. Each prints the pushed or pulled reference with its
// manifest digest (NAME:TAG@sha256:...) on stdout; progress bars go to stderr on a terminal.
#include <unistd.h>

#include <chrono>
#include <memory>

#include "base/log.h"
#include "cli/cli.h"
#include "engine/image_source.h"
#include "oci/store/image_store.h"
#include "oci/registry/credentials.h"
#include "oci/registry/progress.h"
#include "oci/registry/pull.h"
#include "oci/registry/push.h"
#include "oci/registry/reference.h"

namespace slipway::cli {
namespace {

struct RegistryArgs {
  bool plain_http = false;
  std::string creds;
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
  cmd->add_option("--creds", a.creds,
                  "USER:PASSWORD for the registry (default: ~/.docker/config.json auths)");
}

Result<oci::RegistryOptions> registry_options(const RegistryArgs& a) {
  oci::RegistryOptions o;
  o.plain_http = a.plain_http;
  if (!a.creds.empty()) o.credentials = SLW_TRY(with_context(oci::parse_creds(a.creds), "--creds"));
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
  bool defaults = a.registry.creds.empty() && !a.registry.plain_http;
  auto r = SLW_TRY(with_context(defaults ? engine::pull_through_mirrors(store, source, options.progress)
                                         : oci::pull_image(store, source, options),
                                what));
  fmt::print("{}@{}\n", r.name.empty() ? source.name() : r.name, r.manifest_digest);
  log::info("pulled {}: {} layers downloaded ({}), {} already here; {} requests in {:.3f}s",
            source.str(), r.downloaded, oci::human_bytes(r.bytes_downloaded), r.present,
            r.stats.requests, seconds_since(start));
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
}

}  // namespace slipway::cli
