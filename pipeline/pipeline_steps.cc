// The seven steps of a pipeline run, in order. Each says what to run; PipelineRun does the
// bookkeeping and the skipping after a failure.
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/file_lock.h"
#include "base/fs.h"
#include "pipeline/pipeline_file.h"
#include "pipeline/pipeline_run.h"
#include "pipeline/service_sets.h"
#include "pipeline/slipway_backend.h"

namespace slipway::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::vector<std::string> env_list(std::initializer_list<const std::map<std::string, std::string>*> maps) {
  std::map<std::string, std::string> merged;
  for (const auto* m : maps)
    for (const auto& [k, v] : *m) merged[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

// A test command in a container: passed when it exits 0.
Result<StepOutcome> run_tests(PipelineRun& run, StepLog& log, RunOptions options, const std::string& what) {
  auto started = Clock::now();
  int code = SLW_TRY(run.backend().run(std::move(options), log.fd.get()));
  StepOutcome out;
  out.command_ms = ms_since(started);
  out.exit_code = code;
  out.passed = code == 0;
  if (!out.passed) out.message = fmt::format("{} exited with {}", what, code);
  return out;
}

Result<const ServiceSetSpec*> service_set(const PipelineRun& run, const std::string& name) {
  auto it = run.spec.service_sets.find(name);
  if (it == run.spec.service_sets.end()) return fail("service set \"{}\" is not in {}", name, run.spec.file);
  return &it->second;
}

// Where relative snapshot sources are found for services that outlive the run: the checkout is
// removed when the run ends, and an overlay's lower dir must not change under it, so they are
// copied once per commit to <root>/pipelines/snapshots/<commit>. (Large production data belongs in
// an absolute host directory, which is used in place.)
Result<std::string> snapshot_base(const PipelineRun& run) {
  std::string base = fs::join(snapshot_copies_dir(run.request().root), run.checkout.commit);
  if (fs::exists(base)) return base;
  // The pid tells gc when a killed runner left it half copied.
  std::string tmp = fmt::format("{}.tmp-{}", base, ::getpid());
  for (const auto& [name, set] : run.spec.service_sets) {
    for (const auto& service : set.services) {
      for (const auto& snap : service.snapshots) {
        if (snap.source.starts_with("/")) continue;
        // A commit must not copy host files out from under its checkout (`../..`, or a symlinked
        // directory on the way).
        std::filesystem::path source(snap.source);
        if (std::find(source.begin(), source.end(), "..") != source.end())
          return fail("snapshot {} of service {}: \"..\" is not allowed", snap.source, service.name);
        std::string from = SLW_TRY_CTX(fs::resolve_in_root(run.checkout.worktree, snap.source),
                                       "snapshot {} of service {}", snap.source, service.name);
        std::error_code ec;
        std::filesystem::path to = std::filesystem::path(tmp) / snap.source;
        std::filesystem::create_directories(to.parent_path(), ec);
        std::filesystem::copy(from, to,
                              std::filesystem::copy_options::recursive |
                                  std::filesystem::copy_options::copy_symlinks |
                                  std::filesystem::copy_options::skip_existing,
                              ec);
        if (ec) return fail("copy snapshot {} of service {}: {}", snap.source, service.name, ec.message());
      }
    }
  }
  SLW_TRY(fs::make_dirs(tmp));
  // Another run of the same commit may have got there first; either copy is the same.
  if (::rename(tmp.c_str(), base.c_str()) != 0) (void)fs::remove_tree(tmp);
  return base;
}

// An empty set name: the step runs without services.
Status services_up(PipelineRun& run, StepLog& log, const std::string& set, bool fresh) {
  if (set.empty()) return {};
  ServiceSets sets(run.backend(), SLW_TRY(snapshot_base(run)), host_snapshot_dir(run.request().root),
                   log.fd.get(), log.path, run.spec.pull);
  return sets.up(*SLW_TRY(service_set(run, set)), fresh);
}

ReadinessProbe app_probe(const AppSpec& app) {
  ReadinessProbe p = app.ready;
  if (p.port == 0) p.port = app.port;
  return p;
}

RunOptions app_container(const PipelineRun& run, const std::string& name, const std::string& net,
                         const std::map<std::string, std::string>& step_env) {
  RunOptions o;
  o.image = run.record().image;
  o.pull = run.spec.pull;
  o.name = name;
  o.net = net;
  o.env = env_list({&run.spec.app.env, &step_env});
  o.command = run.spec.app.command;
  return o;
}

Result<StepOutcome> checkout_step(PipelineRun& run, StepLog& log) {
  const PipelineRequest& r = run.request();
  CheckoutRequest c{r.repo, r.rev, r.branch, git_cache_dir(r.root), fs::join(run.dir(), "src")};
  run.checkout = SLW_TRY(checkout(c));
  RunRecord& rec = run.record();
  rec.commit = run.checkout.commit;
  rec.commit_summary = run.checkout.summary;
  if (rec.branch.empty()) rec.branch = run.checkout.branch;
  // Errors name the file as the repository has it (".slipway.yml:3: ..."), not the checkout path.
  std::string text = SLW_TRY_CTX(fs::read_file(fs::join(run.checkout.worktree, r.file)),
                                 "pipeline file {} in {}", r.file, rec.commit.substr(0, 12));
  run.spec = SLW_TRY(parse_pipeline_file(text, r.file));
  run.environment = SLW_TRY(find_environment(run.spec, r.environment));
  rec.app = run.spec.app.name;
  rec.image = run.spec.app.name + ":" + run.checkout.commit;
  std::string line = fmt::format("checked out {} ({}) into {}\n", rec.commit, rec.commit_summary,
                                 run.checkout.worktree);
  (void)!::write(log.fd.get(), line.data(), line.size());
  return StepOutcome{.message = rec.commit.substr(0, 12) + " " + rec.commit_summary};
}

// Builds `image` from the checkout, unless the store has it: one commit, exactly one image.
Result<StepOutcome> build_image(PipelineRun& run, StepLog& log, const std::string& image,
                                const std::string& target) {
  if (SLW_TRY(run.backend().has_image(image))) {
    std::string note = image + " exists: reused";
    (void)!::write(log.fd.get(), (note + "\n").data(), note.size() + 1);
    return StepOutcome{.message = note};
  }
  const AppSpec& app = run.spec.app;
  // Both come from the repository: resolved inside the checkout, so that neither "../.." nor a
  // symlink makes the build read a host file. The build then reads only these real paths.
  const std::string& tree = run.checkout.worktree;
  std::string context = SLW_TRY(with_context(fs::resolve_in_root(tree, app.context), "app.context"));
  if (!fs::is_dir(context)) return fail("app.context {} is not a directory", app.context);
  std::string dockerfile = SLW_TRY(with_context(fs::resolve_in_root(tree, app.dockerfile), "app.dockerfile"));
  BuildRequest request{.image = image,
                       .dockerfile = dockerfile,
                       .context = context,
                       .target = target,
                       .build_args = app.build_args,
                       .source_date_epoch = run.checkout.commit_time,
                       .pull = run.spec.pull};
  auto started = Clock::now();
  int code = SLW_TRY(run.backend().build(request, log.fd.get()));
  StepOutcome out{.passed = code == 0, .exit_code = code, .command_ms = ms_since(started), .message = ""};
  if (code != 0) out.message = fmt::format("build of {} exited with {}", image, code);
  return out;
}

Result<StepOutcome> unit_step(PipelineRun& run, StepLog& log) {
  const UnitStep& unit = run.spec.unit;
  SLW_TRY(services_up(run, log, unit.services, false));
  RunOptions o = app_container(run, run.container_name("unit"), "host", unit.env);
  if (!unit.image.empty()) o.image = unit.image;
  o.command = unit.command;
  o.timeout_seconds = unit.timeout_seconds;
  return run_tests(run, log, o, "unit tests");
}

Result<StepOutcome> integration_step(PipelineRun& run, StepLog& log) {
  const IntegrationStep& it = run.spec.integration;
  SLW_TRY(services_up(run, log, it.services, false));
  std::vector<int> ports = it.forward;
  if (ports.empty() && !it.services.empty())
    for (const auto& s : SLW_TRY(service_set(run, it.services))->services)
      if (s.port) ports.push_back(s.port);

  // The networkholder: a namespace whose localhost reaches the dev services on the host.
  RunOptions holder_options;
  holder_options.image = run.record().image;
  holder_options.pull = run.spec.pull;
  holder_options.name = run.container_name("holder");
  holder_options.net = "none";
  holder_options.entrypoint = "sleep";
  holder_options.command = {"2147483647"};
  for (int p : ports) holder_options.forwards.push_back(fmt::format("127.0.0.1:{}=127.0.0.1:{}", p, p));
  StepContainer holder = SLW_TRY_CTX(run.backend().start(holder_options, log.fd.get(), log.path), "networkholder");
  auto app = run.backend().start(
      app_container(run, run.container_name("app"), "container:" + holder.info.name, it.app_env), log.fd.get(),
      log.path);
  ContainerBackend& backend = run.backend();
  if (!app) {
    backend.stop(holder, log.fd.get());
    return std::unexpected(std::move(app.error()).context("app"));
  }
  Result<StepOutcome> out = [&]() -> Result<StepOutcome> {
    auto alive = [&] { return backend.running(*app); };
    SLW_TRY_CTX(backend.wait_until_ready(app_probe(run.spec.app), "127.0.0.1", holder.info.pid, alive), "app");
    RunOptions tests = app_container(run, run.container_name("tests"), "container:" + holder.info.name, it.env);
    tests.command = it.command;
    tests.timeout_seconds = it.timeout_seconds;
    if (!it.image.empty()) tests.image = it.image;
    return run_tests(run, log, tests, "integration tests");
  }();
  backend.stop(*app, log.fd.get());
  backend.stop(holder, log.fd.get());
  return out;
}

std::string deployed_service_name(const PipelineRun& run) {
  return run.environment->service.empty() ? run.spec.app.name : run.environment->service;
}

// Starts the new build next to the old one, moves the service name to it once it is ready, then
// removes the old one. A new build that never gets ready is removed and the old one keeps serving.
Result<StepOutcome> deploy_step(PipelineRun& run, StepLog& log) {
  const DeployStep& d = run.spec.deploy;
  const std::string& root = run.request().root;
  std::string prefix = fmt::format("{}-{}-", run.spec.app.name, run.environment->name);
  auto lock = SLW_TRY(FileLock::acquire(fs::join(root, "pipelines/deploy-" + prefix + "lock"),
                                        FileLock::Mode::kExclusive));
  SLW_TRY(services_up(run, log, d.services, true));
  const ServiceSetSpec* set = SLW_TRY(service_set(run, d.services));
  ContainerBackend& backend = run.backend();
  RunOptions o = app_container(run, prefix + run.short_id(), set->network, d.env);
  o.hostname = o.name;
  ContainerInfo fresh = SLW_TRY(backend.start_detached(o, log.fd.get(), log.path));
  auto alive = [&] {
    auto now = backend.find(fresh.id);
    return now && *now && (*now)->running && !pipeline_interrupted();
  };
  if (auto ready = backend.wait_until_ready(app_probe(run.spec.app), fresh.ip, 0, alive); !ready) {
    (void)backend.remove(fresh.id, log.fd.get());
    return fail("new app {} never got ready, the previous one keeps serving: {}", o.name,
                ready.error().message());
  }
  std::string service = deployed_service_name(run);
  std::vector<std::string> names = fresh.dns_names;
  names.push_back(service);
  SLW_TRY_CTX(backend.set_dns_names(fresh, names), "give {} the name {}", o.name, service);
  std::string replaced;
  for (ContainerInfo c : SLW_TRY(backend.list())) {
    if (c.id == fresh.id) continue;
    bool had_name = c.network == set->network && std::erase(c.dns_names, service) > 0;
    if (had_name) (void)backend.set_dns_names(c, c.dns_names);
    if (c.name.starts_with(prefix) || had_name) {
      SLW_TRY_CTX(backend.remove(c.id, log.fd.get()), "remove the previous build {}", c.name);
      replaced += (replaced.empty() ? "" : ", ") + c.name;
    }
  }
  std::string line = fmt::format("deployed {} as {} at {}{}\n", o.name, service, fresh.ip,
                                 replaced.empty() ? "" : "; replaced " + replaced);
  (void)!::write(log.fd.get(), line.data(), line.size());
  return StepOutcome{.message = fmt::format("{} at {}", service, fresh.ip)};
}

Result<StepOutcome> live_step(PipelineRun& run, StepLog& log) {
  const LiveStep& live = run.spec.live;
  const ServiceSetSpec* set = SLW_TRY(service_set(run, run.spec.deploy.services));
  // A client of the deployed app: the app image's tools, its own environment only.
  RunOptions o;
  o.image = live.image.empty() ? run.record().image : live.image;
  o.pull = run.spec.pull;
  o.name = run.container_name("live");
  o.net = set->network;
  o.env = env_list({&live.env});
  o.command = live.command;
  o.timeout_seconds = live.timeout_seconds;
  return run_tests(run, log, o, "live tests");
}

Result<StepOutcome> push_step(PipelineRun& run, StepLog& log) {
  const PushSpec& push = run.spec.push;
  std::string image = run.record().image;
  if (!push.target.empty() && push.target != run.spec.app.target) {
    image = run.record().image + "-" + push.target;
    StepOutcome built = SLW_TRY(build_image(run, log, image, push.target));
    if (!built.passed) return built;
  }
  std::string repository = push.repository.empty() ? run.spec.app.name : push.repository;
  std::vector<std::string> tags = {run.checkout.commit};
  tags.insert(tags.end(), push.tags.begin(), push.tags.end());
  auto started = Clock::now();
  for (const auto& tag : tags) {
    std::string dest = fmt::format("{}/{}:{}", push.registry, repository, tag);
    int code = SLW_TRY(run.backend().push({.image = image, .destination = dest, .plain_http = push.plain_http},
                                          log.fd.get()));
    if (code != 0) return StepOutcome{.passed = false, .exit_code = code, .message = "push to " + dest + " failed"};
  }
  return StepOutcome{.command_ms = ms_since(started),
                     .message = fmt::format("{}/{}: {} tags", push.registry, repository, tags.size())};
}

}  // namespace

Result<PipelineOutcome> run_pipeline(const PipelineRequest& request) {
  SlipwayBackend backend(
      {.binary = "/proc/self/exe", .root = request.root, .run_root = request.run_root, .env = {}});
  return run_pipeline(request, backend);
}

Result<PipelineOutcome> run_pipeline(const PipelineRequest& request, ContainerBackend& backend) {
  auto run = SLW_TRY(PipelineRun::create(request, backend));
  run->catch_interrupts();
  run->step("checkout", [&](StepLog& log) { return checkout_step(*run, log); });
  run->step("build", [&](StepLog& log) {
    return build_image(*run, log, run->record().image, run->spec.app.target);
  });
  auto optional = [&](const std::string& name, bool enabled, auto body) {
    if (!run->failed() && !enabled) return run->skip(name, "not in " + request.file);
    run->step(name, body);
  };
  optional("unit", run->spec.unit.enabled, [&](StepLog& log) { return unit_step(*run, log); });
  optional("integration", run->spec.integration.enabled, [&](StepLog& log) { return integration_step(*run, log); });
  optional("deploy", run->spec.deploy.enabled, [&](StepLog& log) { return deploy_step(*run, log); });
  optional("live", run->spec.live.enabled && run->spec.deploy.enabled,
           [&](StepLog& log) { return live_step(*run, log); });
  if (!run->failed() && !(run->environment && run->environment->push))
    run->skip("push", request.environment + " does not push");
  else
    optional("push", run->spec.push.enabled, [&](StepLog& log) { return push_step(*run, log); });
  run->finish();
  if (pipeline_interrupted()) run->clean_up_after_interrupt();
  return PipelineOutcome{run->record(), run->dir(), pipeline_interrupted()};
}

}  // namespace slipway::pipeline
