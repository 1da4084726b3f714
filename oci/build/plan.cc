#include "oci/build/plan.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "oci/build/cache.h"
#include "oci/dockerfile/expand.h"

namespace slipway::oci {

namespace {

using json = nlohmann::json;

// RUN's environment as its cache key sees it: proxy build args nobody declared stay out, as in
// Docker, so that a build behind a proxy hits the cache of one without.
std::vector<std::string> key_env(const std::vector<std::string>& env, const StageVariables& vars) {
  std::vector<std::string> out;
  for (const auto& kv : env) {
    std::string key = kv.substr(0, kv.find('='));
    if (is_proxy_arg(key) && !vars.args().contains(key) && !vars.env().contains(key)) continue;
    out.push_back(kv);
  }
  return out;
}

class Planner {
 public:
  Planner(const Dockerfile& dockerfile, const BuildOptions& options, PlanInputs& inputs)
      : df_(dockerfile), options_(options), inputs_(inputs) {}

  Result<BuildPlan> run() {
    StageOptions so;
    so.build_args = options_.build_args;
    so.predefined_args = predefined_platform_args(options_.platform);
    so.target = options_.target;
    StagePlan sp = SLW_TRY(plan_stages(df_, so));
    plan_.file = df_.file();
    plan_.build_order = sp.build_order;
    plan_.target = sp.target;
    plan_.source_date_epoch = options_.source_date_epoch;
    plan_.stages.resize(sp.stages.size());
    if (!sp.unused_build_args.empty()) {
      std::string names;
      for (const auto& n : sp.unused_build_args) names += (names.empty() ? "" : ", ") + n;
      plan_.warnings.push_back(
          fmt::format("build args that no ARG of the built stages declares: {}", names));
    }
    for (std::size_t index : sp.build_order) SLW_TRY(plan_stage(sp, sp.stages[index]));
    return std::move(plan_);
  }

 private:
  std::string at(int line) const { return fmt::format("{}:{}", df_.file(), line); }

  Status check_platform(const Stage& s) const {
    if (s.platform.empty()) return {};
    const Platform& p = options_.platform;
    std::string want = s.platform;
    if (want == p.str() || want == p.os + "/" + p.architecture) return {};
    return fail("{}: FROM --platform={}: slipway builds for {} only", at(s.line), want, p.str());
  }

  Status plan_stage(const StagePlan& sp, const Stage& s) {
    PlannedStage ps;
    ps.index = s.index;
    ps.name = s.name;
    ps.from = s.base;
    ps.line = s.line;
    SLW_TRY(check_platform(s));
    BuildConfig base;
    if (s.base_stage) {
      const PlannedStage& b = plan_.stages[*s.base_stage];
      ps.base_stage = s.base_stage;
      base = b.config.image;
      ps.base_key = b.final_key;
    } else if (s.scratch) {
      base.platform = options_.platform;
      ps.base_key = cache_key("", {{"from", "scratch"},
                                   {"platform", options_.platform.str()},
                                   {"epoch", options_.source_date_epoch}});
    } else {
      auto img = inputs_.image(s.base);
      if (!img) return fail("{}: FROM {}: {}", at(s.line), s.base, img.error().message());
      base = img->config;
      // Layers carry times clamped to SOURCE_DATE_EPOCH, so another epoch is another layer.
      ps.base_key = cache_key("", {{"from", img->image.id}, {"epoch", options_.source_date_epoch}});
      ps.base_image = std::move(*img);
    }
    std::vector<std::string> triggers = base.config.on_build;
    ps.config = stage_config_from_base(std::move(base));
    StageVariables vars(options_.build_args, sp.global_values);
    vars.set_image_env(ps.config.image.config.env);
    std::string key = ps.base_key;
    // Docker runs the base image's ONBUILD triggers first thing in the stage built on it.
    for (const auto& trigger : triggers) {
      auto parsed = parse_dockerfile("FROM scratch\n" + trigger, df_.file());
      if (!parsed || parsed->instructions.size() != 2)
        return fail("{}: ONBUILD trigger \"{}\" of {}: {}", at(s.line), trigger, s.base,
                    parsed ? "not one instruction" : parsed.error().message());
      Instruction ins = parsed->instructions[1];
      ins.start_line = ins.end_line = s.line;
      if (const auto* c = ins.as<CopyInstruction>(); c && !c->from.empty())
        return fail("{}: ONBUILD trigger \"{}\": COPY --from in a trigger is not supported",
                    at(s.line), trigger);
      SLW_TRY(plan_instruction(ps, vars, ins, nullptr, key));
    }
    for (std::size_t i = 0; i < s.instructions.size(); ++i) {
      const CopyFrom* from = nullptr;
      for (const auto& cf : s.copy_from) {
        if (cf.instruction == i) from = &cf;
      }
      SLW_TRY(plan_instruction(ps, vars, s.instructions[i], from, key));
    }
    ps.final_key = key;
    plan_.stages[s.index] = std::move(ps);
    return {};
  }

  Status plan_run(PlannedStep& step, const RunInstruction& run, const PlannedStage& ps,
                  const StageVariables& vars, std::string& key) {
    const Instruction& ins = step.instruction;
    if (!run.mounts.empty())
      return fail("{}: RUN --mount is not supported yet", at(ins.start_line));
    if (!run.security.empty() && run.security != "sandbox")
      return fail("{}: RUN --security={} is not supported", at(ins.start_line), run.security);
    const RuntimeConfig& c = ps.config.image.config;
    RunPlan rp = oci::plan_run(run);
    step.kind = StepKind::kRun;
    step.run.argv = command_argv(rp.command, c.effective_shell());
    step.run.env = vars.run_env();
    step.run.cwd = c.working_dir.empty() ? "/" : c.working_dir;
    step.run.user = c.user;
    std::string net =
        run.network.empty() || run.network == "default" ? options_.network : run.network;
    if (net != "none" && net != "host" && net != "default")
      return fail("{}: RUN --network={}: use default, none or host", at(ins.start_line), net);
    step.run.network = net;
    step.run.executable = rp.executable;
    step.run.executable_path = rp.executable_path;
    step.created_by = history_created_by(ins, step.run.argv, vars.args());
    json j = {{"run", step.run.argv}, {"env", key_env(step.run.env, vars)},
              {"cwd", step.run.cwd},  {"user", step.run.user},
              {"network", net},       {"script", nullptr}};
    if (rp.executable) j["script"] = {rp.executable_path, rp.executable->data};
    step.key = key = cache_key(key, j);
    return {};
  }

  // ADD's sources split into local ones and URLs; URLs without --checksum are fetched now.
  Status plan_urls(const std::string& what, const std::vector<std::string>& sources,
                   std::string_view checksum, CopyStep& cs) {
    if (!checksum.empty()) {
      // Docker's checks and messages.
      if (sources.size() != 1)
        return fail("{}: checksum can't be specified for multiple sources", what);
      if (!is_http_url(sources[0]))
        return fail("{}: checksum can't be specified for non-HTTP(S) sources", what);
    }
    for (const auto& s : sources) {
      if (!is_url(s)) {
        cs.request.sources.push_back(s);
        continue;
      }
      if (!is_http_url(s))
        return fail(
            "{} {}: only http:// and https:// URLs are supported: clone a git repository "
            "in a RUN step",
            what, s);
      UrlSource u;
      u.url = s;
      u.name = url_file_name(s);
      if (!checksum.empty()) {
        u.checksum = SLW_TRY(with_context(parse_checksum(checksum), what));
        u.digest = u.checksum;
      } else {
        auto got = inputs_.fetch_url(s, download_dir(), DownloadOptions{});
        if (!got) return fail("{} {}: {}", what, s, got.error().message());
        u.digest = got->digest;
        u.download = std::make_shared<const Download>(std::move(*got));
      }
      cs.urls.push_back(std::move(u));
    }
    return {};
  }

  std::string download_dir() const {
    if (!options_.download_dir.empty()) return options_.download_dir;
    const char* tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/var/tmp";
  }

  template <class T>
  Status plan_copy(PlannedStep& step, const T& body, bool add, std::string_view checksum,
                   const CopyFrom* from, const PlannedStage& ps, std::string& key) {
    const Instruction& ins = step.instruction;
    std::string what = fmt::format("{}: {}", at(ins.start_line), ins.keyword);
    if constexpr (requires { body.parents; }) {
      if (body.parents) return fail("{}: --parents is not supported yet", what);
    }
    if (!body.excludes.empty()) return fail("{}: --exclude is not supported yet", what);
    if (!body.chmod.empty()) SLW_TRY(with_context(parse_chmod(body.chmod), what));
    step.kind = StepKind::kCopy;
    CopyStep& cs = step.copy;
    cs.add = add;
    cs.request.sources = body.sources;
    cs.request.inline_sources = body.inline_sources;
    cs.request.dest = body.dest;
    cs.request.workdir = ps.config.image.config.working_dir;
    cs.chown = body.chown;
    cs.chmod = body.chmod;
    if (body.dest.empty()) return fail("{}: no destination", what);
    json source;
    if (from && from->stage) {
      cs.from_stage = from->stage;
      source = {{"stage", plan_.stages[*from->stage].final_key}};
    } else if (from) {
      auto img = inputs_.image(from->image);
      if (!img) return fail("{} --from={}: {}", what, from->image, img.error().message());
      cs.from_image = *img;
      source = {{"image", img->image.id}};
    } else {
      if (add) {
        cs.request.sources.clear();
        SLW_TRY(plan_urls(what, body.sources, checksum, cs));
      }
      for (const auto& s : cs.request.sources) {
        if (is_url(s)) return fail("{} {}: source can't be a URL for COPY", what, s);
      }
      if (!cs.request.sources.empty()) {
        auto digest = inputs_.context_digest(cs.request.sources);
        if (!digest) return fail("{}: {}", what, digest.error().message());
        source = {{"context", *digest}};
      }
    }
    json inline_sources = json::array();
    for (const auto& s : body.inline_sources) inline_sources.push_back({s.name, s.data});
    step.created_by = history_created_by(ins);
    json j = {{add ? "add" : "copy", body.sources},
              {"inline", inline_sources},
              {"dest", body.dest},
              {"workdir", cs.request.workdir},
              {"chown", body.chown},
              {"chmod", body.chmod},
              {"source", source}};
    // Only steps with URLs carry the field, so that other steps keep their keys.
    for (const auto& u : cs.urls) j["urls"].push_back({u.url, u.digest});
    step.key = key = cache_key(key, j);
    return {};
  }

  Status plan_instruction(PlannedStage& ps, StageVariables& vars, const Instruction& raw,
                          const CopyFrom* from, std::string& key) {
    PlannedStep step;
    step.instruction = raw;
    if (instruction_expands(raw)) {
      auto e = SLW_TRY(expand_instruction(raw, vars.substitution_vars(), df_.escape(), df_.file()));
      step.instruction = std::move(e.instruction);
    }
    const Instruction& ins = step.instruction;
    vars.apply(ins);
    RuntimeConfig& c = ps.config.image.config;
    if (const auto* run = ins.as<RunInstruction>()) {
      SLW_TRY(plan_run(step, *run, ps, vars, key));
    } else if (const auto* copy = ins.as<CopyInstruction>()) {
      SLW_TRY(plan_copy(step, *copy, false, "", from, ps, key));
    } else if (const auto* add = ins.as<AddInstruction>()) {
      SLW_TRY(plan_copy(step, *add, true, add->checksum, nullptr, ps, key));
    } else {
      SLW_TRY(apply_to_config(ps.config, ins, df_.file()));
      if (ins.as<WorkdirInstruction>()) {
        // Docker makes the directory (in a layer) when the image does not have it.
        step.kind = StepKind::kWorkdir;
        step.workdir = c.working_dir;
        step.user = c.user;
        step.key = key = cache_key(key, {{"workdir", step.workdir}, {"user", step.user}});
        step.created_by = history_created_by(ins);
      } else if (ins.as<CmdInstruction>()) {
        step.created_by = history_created_by(ins, c.cmd);
      } else if (ins.as<EntrypointInstruction>()) {
        step.created_by = history_created_by(ins, c.entrypoint);
      } else {
        step.created_by = history_created_by(ins);
      }
    }
    ps.steps.push_back(std::move(step));
    return {};
  }

  const Dockerfile& df_;
  const BuildOptions& options_;
  PlanInputs& inputs_;
  BuildPlan plan_;
};

}  // namespace

Result<Download> PlanInputs::fetch_url(const std::string& url, const std::string& dir,
                                       const DownloadOptions& options) {
  if (!fs::is_dir(dir)) SLW_TRY(fs::make_dirs(dir, 0700));
  return download_url(url, dir, options);
}

std::string PlannedStage::label() const {
  return name.empty() ? fmt::format("stage-{}", index) : name;
}

VarMap predefined_platform_args(const Platform& p) {
  VarMap out;
  for (const char* prefix : {"TARGET", "BUILD"}) {
    std::string pre = prefix;
    out[pre + "PLATFORM"] = p.str();
    out[pre + "OS"] = p.os;
    out[pre + "ARCH"] = p.architecture;
    out[pre + "VARIANT"] = p.variant;
  }
  return out;
}

Result<BuildPlan> plan_build(const Dockerfile& dockerfile, const BuildOptions& options,
                             PlanInputs& inputs) {
  return Planner(dockerfile, options, inputs).run();
}

}  // namespace slipway::oci
