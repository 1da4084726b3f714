// The steps of a pipeline run: the checkout, then every planned step as its graph allows, each
// saying which containers it runs; PipelineRun does the bookkeeping.
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "base/file_lock.h"
#include "base/fs.h"
#include "pipeline/pipeline_file.h"
#include "pipeline/pipeline_run.h"
#include "pipeline/service_sets.h"
#include "pipeline/slipway_backend.h"
#include "pipeline/step_extras.h"

namespace slipway::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
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


ReadinessProbe app_probe(const AppSpec& app) {
  ReadinessProbe p = app.ready;
  if (p.port == 0) p.port = app.port;
  return p;
}

// Later values of a key win, as `-e` options do.
std::vector<std::string> merged_env(const std::map<std::string, std::string>& base,
                                    const std::vector<std::string>& overrides) {
  std::map<std::string, std::string> merged = base;
  for (const auto& kv : overrides) {
    size_t eq = kv.find('=');
    merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

// CI_PROJECT_NAME of a pipeline without an app: the repository's last path element, without
// ".git" ("https://host/team/lib.git" -> "lib"). It names <root>/secrets/<project>.env too.
std::string project_name(const std::string& repo) {
  std::string name = std::filesystem::path(repo).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(repo).lexically_normal().parent_path().filename().string();
  if (name.ends_with(".git")) name.resize(name.size() - 4);
  bool plain = !name.empty() && name != "." && name != ".." &&
               std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
  return plain ? name : "project";
}

void log_line(StepLog& log, const std::string& text) {
  (void)!::write(log.fd.get(), (text + "\n").data(), text.size() + 1);
}

// Runs the planned steps of one run: one method per step type, each saying what containers it
// needs; run_graph() starts them as the graph allows, up to `jobs` at once.
class StepRunner {
 public:
  explicit StepRunner(PipelineRun& run) : run_(run), backend_(run.backend()) {}

  Result<StepOutcome> checkout(StepLog& log);
  void run_graph(int jobs);

 private:
  Result<StepOutcome> run_step(const PlannedStep& step, StepLog& log);
  Result<StepOutcome> build_image(StepLog& log, const std::string& image, const std::string& target);
  // A step whose own container runs its commands: secrets, caches, artifacts and reports.
  Result<StepOutcome> container_step(const PlannedStep& step, StepLog& log);
  Result<StepOutcome> commands_step(const PlannedStep& step, StepLog& log);
  Result<StepOutcome> unit_step(const PlannedStep& step, StepLog& log);
  Result<StepOutcome> integration_step(const PlannedStep& step, StepLog& log);
  Result<StepOutcome> deploy_step(const PlannedStep& step, StepLog& log);
  Result<StepOutcome> live_step(const PlannedStep& step, StepLog& log);
  Result<StepOutcome> push_step(StepLog& log);
  // Reads the secrets file when an enabled step names a secret, and masks their values.
  Status load_secrets_in_use();

  // A container of the step that runs its commands (or its command) in the workspace.
  RunOptions test_container(const PlannedStep& step, const std::string& name, const std::string& net) const;
  RunOptions app_container(const std::string& name, const std::string& net,
                           const std::map<std::string, std::string>& step_env) const;
  Result<StepOutcome> run_tests(StepLog& log, RunOptions options, const std::string& what);
  // An empty set name: the step runs without services.
  Status services_up(StepLog& log, const std::string& set, bool fresh);

  PipelineRun& run_;
  ContainerBackend& backend_;
  std::mutex services_mu_;  // one step at a time starts a service set
  // The extras of the step running on this thread, for test_container.
  static thread_local const StepExtras* extras_;
};

thread_local const StepExtras* StepRunner::extras_ = nullptr;

Result<StepOutcome> StepRunner::checkout(StepLog& log) {
  PipelineRun& run = run_;
  const PipelineRequest& r = run.request();
  // The workspace is reachable by root only: what the steps write there is theirs.
  std::string workspace = fs::join(run.dir(), "workspace");
  SLW_TRY(fs::make_dirs(workspace, 0700));
  CheckoutRequest c{r.repo, r.rev, r.branch, git_cache_dir(r.root), fs::join(workspace, "src")};
  run.checkout = SLW_TRY(pipeline::checkout(c));
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
  if (!rec.app.empty()) rec.image = run.spec.app.name + ":" + run.checkout.commit;

  PlanContext context;
  context.facts.commit = {.sha = rec.commit,
                          .branch = rec.branch,
                          .tag = run.checkout.tag,
                          .message = run.checkout.message,
                          .timestamp = run.checkout.commit_time};
  context.facts.pipeline_id = rec.id;
  context.facts.project = !rec.app.empty() ? rec.app : project_name(r.repo);
  context.facts.environment = r.environment;
  context.event = r.event;
  context.environment_pushes = run.environment->push;
  context.app_image = rec.image;
  run.plan_context = context;
  run.plan = SLW_TRY(plan_pipeline(run.spec, context));
  SLW_TRY(load_secrets_in_use());
  log_line(log, fmt::format("checked out {} ({}) into {}", rec.commit, rec.commit_summary, run.checkout.worktree));
  return StepOutcome{.message = rec.commit.substr(0, 12) + " " + rec.commit_summary};
}

Status StepRunner::load_secrets_in_use() {
  std::vector<const StepSpec*> using_secrets;
  for (const PlannedStep& p : run_.plan.steps)
    if (p.enabled && !p.spec->secrets.empty()) using_secrets.push_back(p.spec);
  if (using_secrets.empty()) return {};
  const PipelineRequest& r = run_.request();
  bool given = !r.secrets_file.empty();
  std::string path = given ? r.secrets_file : default_secrets_file(r.root, run_.plan_context.facts.project);
  bool exists = given || fs::exists(path);
  run_.secrets = SLW_TRY(load_secrets(path, given));
  if (!exists) run_.secrets.path.clear();  // errors then say that there is no file
  run_.mask_secrets(SLW_TRY(used_secret_values(run_.spec, using_secrets, run_.secrets)));
  return {};
}

void StepRunner::run_graph(int jobs) {
  PipelinePlan& plan = run_.plan;
  StepGraph& graph = plan.graph;
  // The record lists the steps in an order that respects their dependencies.
  std::vector<size_t> record_index(plan.steps.size());
  for (size_t i : graph.topological_order()) record_index[i] = run_.add_step(plan.steps[i].spec->name);
  std::vector<bool> recorded(plan.steps.size(), false);

  std::mutex mu;
  std::condition_variable ended;
  std::vector<std::pair<size_t, bool>> results;  // steps that ended, and whether they passed
  std::vector<size_t> ready;
  std::vector<std::thread> threads;
  size_t running = 0;
  std::unique_lock lock(mu);
  for (;;) {
    for (auto [i, passed] : results) {
      graph.finish(i, passed);
      --running;
    }
    results.clear();
    // After an interrupt nothing new starts, not even a failure step: the user asked the run to
    // end. The steps still running end as their children were killed.
    if (!pipeline_interrupted()) {
      for (size_t i : graph.take_ready()) ready.push_back(i);
      for (size_t i = 0; i < plan.steps.size(); ++i) {
        StepState state = graph.state(i);
        if (recorded[i] || (state != StepState::kSkipped && state != StepState::kCancelled)) continue;
        recorded[i] = true;
        run_.skip_step(record_index[i], state == StepState::kSkipped && !plan.steps[i].enabled
                                            ? plan.steps[i].skip_reason
                                            : graph.why(i));
      }
      while (!ready.empty() && running < static_cast<size_t>(jobs)) {
        size_t i = ready.front();
        ready.erase(ready.begin());
        recorded[i] = true;
        ++running;
        threads.emplace_back([&, i] {
          const PlannedStep& step = plan.steps[i];
          bool passed = run_.run_step(
              record_index[i], [&](StepLog& log) { return run_step(step, log); }, step.spec->retry + 1);
          std::lock_guard done(mu);
          results.emplace_back(i, passed);
          ended.notify_one();
        });
      }
    }
    // Nothing runs and nothing can start: the graph is done (or the run interrupted).
    if (running == 0 && (ready.empty() || pipeline_interrupted())) break;
    ended.wait(lock, [&] { return !results.empty(); });
  }
  for (size_t i = 0; i < plan.steps.size(); ++i)
    if (!recorded[i]) run_.skip_step(record_index[i], pipeline_interrupted() ? "the run was interrupted" : "not run");
  lock.unlock();
  for (auto& t : threads) t.join();
}

Result<StepOutcome> StepRunner::run_step(const PlannedStep& step, StepLog& log) {
  switch (step.spec->type) {
    case StepType::kCommands:
    case StepType::kUnit:
    case StepType::kIntegration:
    case StepType::kLive: return container_step(step, log);
    case StepType::kBuild: return build_image(log, run_.record().image, run_.spec.app.target);
    case StepType::kDeploy: return deploy_step(step, log);
    case StepType::kPush: return push_step(log);
  }
  return fail("step {}: unknown type", step.spec->name);
}

Result<StepOutcome> StepRunner::container_step(const PlannedStep& step, StepLog& log) {
  auto extras = SLW_TRY(StepExtras::prepare(run_, step, log));
  extras_ = extras.get();
  Result<StepOutcome> out = step.spec->type == StepType::kCommands      ? commands_step(step, log)
                            : step.spec->type == StepType::kUnit        ? unit_step(step, log)
                            : step.spec->type == StepType::kIntegration ? integration_step(step, log)
                                                                        : live_step(step, log);
  extras_ = nullptr;
  if (out) collect_step_outputs(run_, step, log, *out);
  return out;
}

RunOptions StepRunner::test_container(const PlannedStep& step, const std::string& name,
                                      const std::string& net) const {
  RunOptions o;
  o.image = step.image;
  o.pull = run_.spec.pull;
  o.name = name;
  o.net = net;
  o.env = step.env;
  o.workdir = step.workdir;
  o.volumes = {run_.checkout.worktree + ":" + kWorkspacePath};
  o.timeout_seconds = step.spec->timeout_seconds;
  if (extras_) extras_->add_to(o);
  if (!step.commands.empty()) {
    o.entrypoint = "/bin/sh";
    o.command = {"-e", "-c", command_script(step.commands)};
  } else {
    o.command = step.spec->command;
  }
  return o;
}

RunOptions StepRunner::app_container(const std::string& name, const std::string& net,
                                     const std::map<std::string, std::string>& step_env) const {
  RunOptions o;
  o.image = run_.record().image;
  o.pull = run_.spec.pull;
  o.name = name;
  o.net = net;
  std::vector<std::string> env;
  for (const auto& [k, v] : step_env) env.push_back(k + "=" + v);
  o.env = merged_env(run_.spec.app.env, env);
  o.command = run_.spec.app.command;
  return o;
}

// A test command in a container: passed when it exits 0.
Result<StepOutcome> StepRunner::run_tests(StepLog& log, RunOptions options, const std::string& what) {
  auto started = Clock::now();
  int code = SLW_TRY(backend_.run(std::move(options), log.fd.get()));
  StepOutcome out;
  out.command_ms = ms_since(started);
  out.exit_code = code;
  out.passed = code == 0;
  if (!out.passed) out.message = fmt::format("{} exited with {}", what, code);
  return out;
}

Status StepRunner::services_up(StepLog& log, const std::string& set, bool fresh) {
  if (set.empty()) return {};
  std::lock_guard lock(services_mu_);
  ServiceSets sets(backend_, SLW_TRY(snapshot_base(run_)), host_snapshot_dir(run_.request().root), log.fd.get(),
                   log.path, run_.spec.pull);
  return sets.up(*SLW_TRY(service_set(run_, set)), fresh);
}

// Builds `image` from the checkout, unless the store has it: one commit, exactly one image.
Result<StepOutcome> StepRunner::build_image(StepLog& log, const std::string& image, const std::string& target) {
  if (SLW_TRY(backend_.has_image(image))) {
    std::string note = image + " exists: reused";
    log_line(log, note);
    return StepOutcome{.message = note};
  }
  const AppSpec& app = run_.spec.app;
  // Both come from the repository: resolved inside the checkout, so that neither "../.." nor a
  // symlink makes the build read a host file. The build then reads only these real paths.
  const std::string& tree = run_.checkout.worktree;
  std::string context = SLW_TRY(with_context(fs::resolve_in_root(tree, app.context), "app.context"));
  if (!fs::is_dir(context)) return fail("app.context {} is not a directory", app.context);
  std::string dockerfile = SLW_TRY(with_context(fs::resolve_in_root(tree, app.dockerfile), "app.dockerfile"));
  BuildRequest request{.image = image,
                       .dockerfile = dockerfile,
                       .context = context,
                       .target = target,
                       .build_args = app.build_args,
                       .source_date_epoch = run_.checkout.commit_time,
                       .pull = run_.spec.pull};
  auto started = Clock::now();
  int code = SLW_TRY(backend_.build(request, log.fd.get()));
  StepOutcome out{.passed = code == 0, .exit_code = code, .command_ms = ms_since(started), .message = ""};
  if (code != 0) out.message = fmt::format("build of {} exited with {}", image, code);
  return out;
}

Result<StepOutcome> StepRunner::commands_step(const PlannedStep& step, StepLog& log) {
  SLW_TRY(services_up(log, step.spec->services, false));
  return run_tests(log, test_container(step, run_.container_name(step.spec->name), step.network), "the script");
}

Result<StepOutcome> StepRunner::unit_step(const PlannedStep& step, StepLog& log) {
  SLW_TRY(services_up(log, step.spec->services, false));
  RunOptions o = test_container(step, run_.container_name(step.spec->name), "host");
  o.env = merged_env(run_.spec.app.env, o.env);
  return run_tests(log, o, "unit tests");
}

Result<StepOutcome> StepRunner::integration_step(const PlannedStep& step, StepLog& log) {
  const StepSpec& it = *step.spec;
  SLW_TRY(services_up(log, it.services, false));
  std::vector<int> ports = it.forward;
  if (ports.empty() && !it.services.empty())
    for (const auto& s : SLW_TRY(service_set(run_, it.services))->services)
      if (s.port) ports.push_back(s.port);

  // The networkholder: a namespace whose localhost reaches the dev services on the host.
  RunOptions holder_options;
  holder_options.image = run_.record().image;
  holder_options.pull = run_.spec.pull;
  holder_options.name = run_.container_name(it.name + "-holder");
  holder_options.net = "none";
  holder_options.entrypoint = "sleep";
  holder_options.command = {"2147483647"};
  for (int p : ports) holder_options.forwards.push_back(fmt::format("127.0.0.1:{}=127.0.0.1:{}", p, p));
  StepContainer holder = SLW_TRY_CTX(backend_.start(holder_options, log.fd.get(), log.path), "networkholder");
  std::string shared = "container:" + holder.info.name;
  auto app = backend_.start(app_container(run_.container_name(it.name + "-app"), shared, it.app_env),
                            log.fd.get(), log.path);
  if (!app) {
    backend_.stop(holder, log.fd.get());
    return std::unexpected(std::move(app.error()).context("app"));
  }
  Result<StepOutcome> out = [&]() -> Result<StepOutcome> {
    auto alive = [&] { return backend_.running(*app); };
    SLW_TRY_CTX(backend_.wait_until_ready(app_probe(run_.spec.app), "127.0.0.1", holder.info.pid, alive), "app");
    RunOptions tests = test_container(step, run_.container_name(it.name), shared);
    tests.env = merged_env(run_.spec.app.env, tests.env);
    return run_tests(log, tests, "integration tests");
  }();
  backend_.stop(*app, log.fd.get());
  backend_.stop(holder, log.fd.get());
  return out;
}

// Starts the new build next to the old one, moves the service name to it once it is ready, then
// removes the old one. A new build that never gets ready is removed and the old one keeps serving.
Result<StepOutcome> StepRunner::deploy_step(const PlannedStep& step, StepLog& log) {
  const StepSpec& d = *step.spec;
  const std::string& root = run_.request().root;
  std::string prefix = fmt::format("{}-{}-", run_.spec.app.name, run_.environment->name);
  auto lock = SLW_TRY(FileLock::acquire(fs::join(root, "pipelines/deploy-" + prefix + "lock"),
                                        FileLock::Mode::kExclusive));
  SLW_TRY(services_up(log, d.services, true));
  const ServiceSetSpec* set = SLW_TRY(service_set(run_, d.services));
  std::map<std::string, std::string> env;
  for (const auto& kv : step.env) {
    size_t eq = kv.find('=');
    // The deployed app gets its own variables, not the CI ones of a test container.
    if (d.env.contains(kv.substr(0, eq))) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  RunOptions o = app_container(prefix + run_.short_id(), set->network, env);
  o.hostname = o.name;
  ContainerInfo fresh = SLW_TRY(backend_.start_detached(o, log.fd.get(), log.path));
  auto alive = [&] {
    auto now = backend_.find(fresh.id);
    return now && *now && (*now)->running && !pipeline_interrupted();
  };
  if (auto ready = backend_.wait_until_ready(app_probe(run_.spec.app), fresh.ip, 0, alive); !ready) {
    (void)backend_.remove(fresh.id, log.fd.get());
    return fail("new app {} never got ready, the previous one keeps serving: {}", o.name,
                ready.error().message());
  }
  std::string service = run_.environment->service.empty() ? run_.spec.app.name : run_.environment->service;
  std::vector<std::string> names = fresh.dns_names;
  names.push_back(service);
  SLW_TRY_CTX(backend_.set_dns_names(fresh, names), "give {} the name {}", o.name, service);
  std::string replaced;
  for (ContainerInfo c : SLW_TRY(backend_.list())) {
    if (c.id == fresh.id) continue;
    bool had_name = c.network == set->network && std::erase(c.dns_names, service) > 0;
    if (had_name) (void)backend_.set_dns_names(c, c.dns_names);
    if (c.name.starts_with(prefix) || had_name) {
      SLW_TRY_CTX(backend_.remove(c.id, log.fd.get()), "remove the previous build {}", c.name);
      replaced += (replaced.empty() ? "" : ", ") + c.name;
    }
  }
  log_line(log, fmt::format("deployed {} as {} at {}{}", o.name, service, fresh.ip,
                            replaced.empty() ? "" : "; replaced " + replaced));
  return StepOutcome{.message = fmt::format("{} at {}", service, fresh.ip)};
}

// A client of the deployed app, on its network: the app image's tools, its own environment only.
Result<StepOutcome> StepRunner::live_step(const PlannedStep& step, StepLog& log) {
  const ServiceSetSpec* set = SLW_TRY(service_set(run_, step.spec->services));
  return run_tests(log, test_container(step, run_.container_name(step.spec->name), set->network), "live tests");
}

Result<StepOutcome> StepRunner::push_step(StepLog& log) {
  const PushSpec& push = run_.spec.push;
  std::string image = run_.record().image;
  if (!push.target.empty() && push.target != run_.spec.app.target) {
    image = run_.record().image + "-" + push.target;
    StepOutcome built = SLW_TRY(build_image(log, image, push.target));
    if (!built.passed) return built;
  }
  std::vector<std::string> tags = {run_.checkout.commit};
  tags.insert(tags.end(), push.tags.begin(), push.tags.end());
  auto started = Clock::now();
  for (const auto& tag : tags) {
    std::string dest = fmt::format("{}/{}:{}", push.registry, push.repository, tag);
    int code = SLW_TRY(backend_.push({.image = image, .destination = dest, .plain_http = push.plain_http},
                                     log.fd.get()));
    if (code != 0) return StepOutcome{.passed = false, .exit_code = code, .message = "push to " + dest + " failed"};
  }
  return StepOutcome{.command_ms = ms_since(started),
                     .message = fmt::format("{}/{}: {} tags", push.registry, push.repository, tags.size())};
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
  StepRunner steps(*run);
  if (run->step("checkout", [&](StepLog& log) { return steps.checkout(log); })) {
    int jobs = request.jobs > 0 ? request.jobs : std::max(1u, std::thread::hardware_concurrency());
    steps.run_graph(jobs);
  }
  run->finish();
  if (pipeline_interrupted()) run->clean_up_after_interrupt();
  return PipelineOutcome{run->record(), run->dir(), pipeline_interrupted()};
}

}  // namespace slipway::pipeline
