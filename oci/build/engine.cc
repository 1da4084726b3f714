#include "oci/build/engine.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/random_id.h"
#include "base/scope_exit.h"
#include "oci/build/cache.h"
#include "oci/build/copy.h"
#include "oci/digest.h"
#include "oci/layer/writer.h"

namespace slipway::oci {

namespace {

struct LayerState {
  Descriptor blob;
  std::string diff_id;
  std::string chain_id;
  std::optional<LayerRecord> record;  // for layers this build made or took from its cache
};

struct StageState {
  std::vector<LayerState> layers;
  std::vector<HistoryEntry> history;
  std::vector<std::string> dirs;  // unpacked layer dirs, lowest first, once asked for
};

// A source tree with nothing in it, for COPY with heredoc sources only.
class EmptyTree : public SourceTree {
 public:
  Result<std::optional<Node>> lookup(const PathParts&) const override {
    return std::optional<Node>();
  }
  Result<std::vector<std::string>> list(const PathParts&) const override {
    return std::vector<std::string>();
  }
  Result<UniqueFd> open(const Node&) const override { return fail("nothing to open"); }
  Result<std::string> read_link(const Node&) const override { return fail("nothing to read"); }
  std::string describe() const override { return "no source"; }
};

class Engine {
 public:
  Engine(const BuildPlan& plan, ImageStore& store, StorePlanInputs& inputs, RunStepExecutor& runner,
         const EngineOptions& options)
      : plan_(plan),
        store_(store),
        inputs_(inputs),
        runner_(runner),
        options_(options),
        cache_(fs::join(store.root(), "build-cache")),
        created_(rfc3339_utc(plan.source_date_epoch)) {}

  Result<BuildResult> run() {
    // Made on first use: a build served from the cache touches no directory.
    tmp_ = fs::join(store_.blobs().tmp_dir(),
                    fmt::format("build-{}-{}", ::getpid(), random_hex_id().substr(0, 12)));
    ScopeExit cleanup([&] {
      if (tmp_made_) (void)fs::remove_tree(tmp_);
    });
    states_.resize(plan_.stages.size());
    result_.warnings = plan_.warnings;
    for (std::size_t index : plan_.build_order) SLW_TRY(build_stage(plan_.stages[index]));

    const PlannedStage& target = plan_.stages[plan_.target];
    const StageState& st = states_[plan_.target];
    BuildConfig config = target.config.image;
    config.created = created_;
    config.history = st.history;
    config.diff_ids.clear();
    ImageStore::NewImage image;
    for (const auto& l : st.layers) {
      config.diff_ids.push_back(l.diff_id);
      image.layers.push_back(l.blob);
      if (l.record) image.records[l.blob.digest] = *l.record;
    }
    image.config = to_canonical_json(config);
    image.names = options_.tags;
    SLW_TRY(check_cancel());
    result_.image = SLW_TRY(store_.commit_image(image));
    return std::move(result_);
  }

 private:
  Status check_cancel() const {
    if (options_.cancelled && options_.cancelled()) return fail("interrupted");
    return {};
  }

  void say(std::string_view line) const {
    if (options_.progress) options_.progress(line);
  }

  std::string at(const PlannedStep& step) const {
    return fmt::format("{}:{}: {}", plan_.file, step.instruction.start_line,
                       step.instruction.keyword);
  }

  // A fresh directory for one step inside the build's temp dir.
  Result<std::string> step_dir() {
    if (!tmp_made_) {
      SLW_TRY(fs::make_dirs(tmp_, 0700));
      tmp_made_ = true;
    }
    std::string dir = fs::join(tmp_, fmt::format("step-{}", ++step_dirs_));
    SLW_TRY(fs::make_dirs(dir, 0700));
    return dir;
  }

  Status init_stage(const PlannedStage& ps, StageState& st) {
    if (ps.base_stage) {
      const StageState& base = states_[*ps.base_stage];
      st.layers = base.layers;
      st.history = base.history;
      st.dirs = base.dirs;
    } else if (ps.base_image) {
      const Image& img = ps.base_image->image;
      for (std::size_t i = 0; i < img.layers.size(); ++i)
        st.layers.push_back({img.layers[i], img.diff_ids[i], img.chain_ids[i], std::nullopt});
      st.history = ps.base_image->config.history;
    }
    return {};
  }

  // The stage's layers unpacked (the store unpacks what is missing), lowest first.
  Result<std::vector<std::string>> unpacked(StageState& st) {
    if (st.dirs.size() == st.layers.size()) return st.dirs;
    Image img;
    img.id = "build";
    for (const auto& l : st.layers) {
      img.layers.push_back(l.blob);
      img.diff_ids.push_back(l.diff_id);
      img.chain_ids.push_back(l.chain_id);
    }
    st.dirs = SLW_TRY(store_.unpacked_layers(img));
    return st.dirs;
  }

  std::string next_chain(const StageState& st, const std::string& diff_id) const {
    if (st.layers.empty()) return diff_id;
    return sha256_digest(st.layers.back().chain_id + " " + diff_id);
  }

  // Packs a layer directory, stores the blob and keeps the directory as the unpacked layer.
  Result<std::optional<CachedLayer>> make_layer(const std::string& dir, StageState& st) {
    if (SLW_TRY(fs::list_dir(dir)).empty()) return std::optional<CachedLayer>();
    LayerWriteOptions o;
    o.overlay = true;
    o.clamp_mtime = plan_.source_date_epoch;
    o.normalize_dir = true;
    WrittenLayer diff = SLW_TRY(write_layer(dir, store_.blobs().tmp_dir(), o));
    ScopeExit drop([&] { ::unlink(diff.blob.path.c_str()); });
    if (diff.entries == 0) return std::optional<CachedLayer>();
    const StagedFile& blob = diff.blob;
    SLW_TRY(store_.blobs().adopt(blob, blob.digest, blob.size, false));
    CachedLayer layer;
    layer.blob.media_type = std::string(kMediaTypeOciLayerGzip);
    layer.blob.digest = blob.digest;
    layer.blob.size = blob.size;
    layer.diff_id = diff.diff_id;
    layer.tar_size = diff.tar_size;
    std::string chain = next_chain(st, layer.diff_id);
    bool dirs_known = st.dirs.size() == st.layers.size();
    SLW_TRY(store_.adopt_layer_dir(chain, dir));
    if (dirs_known && fs::is_dir(store_.layer_dir(chain)))
      st.dirs.push_back(store_.layer_dir(chain));
    return std::optional<CachedLayer>(std::move(layer));
  }

  Result<std::optional<CachedLayer>> do_run(const PlannedStep& step, StageState& st) {
    std::vector<std::string> lowers = SLW_TRY(unpacked(st));
    std::string dir = SLW_TRY(step_dir());
    RunStepSpec spec;
    if (lowers.empty()) {
      // FROM scratch: overlayfs needs a lower dir, so an empty one stands in.
      lowers.push_back(fs::join(dir, "empty"));
      SLW_TRY(fs::make_dirs(lowers.back(), 0755));
    }
    spec.lower_dirs = lowers;
    spec.upper_dir = fs::join(dir, "upper");
    spec.work_dir = fs::join(dir, "work");
    spec.scratch_dir = fs::join(dir, "scratch");
    for (const auto& d : {spec.upper_dir, spec.work_dir, spec.scratch_dir})
      SLW_TRY(fs::make_dirs(d, 0755));
    spec.argv = step.run.argv;
    spec.env = step.run.env;
    spec.cwd = step.run.cwd;
    spec.user = step.run.user;
    spec.network = step.run.network;
    if (step.run.executable) {
      const InlineFile& f = *step.run.executable;
      spec.files.push_back({step.run.executable_path, f.data});
    }
    ++result_.containers;
    auto code = runner_.run(spec);
    SLW_TRY(check_cancel());
    if (!code) return fail("{}: {}", at(step), code.error().message());
    if (*code != 0) return fail("{} exited with code {}", at(step), *code);
    auto layer = SLW_TRY(make_layer(spec.upper_dir, st));
    (void)fs::remove_tree(dir);
    return layer;
  }

  Result<std::optional<CachedLayer>> do_copy(const PlannedStep& step, StageState& st) {
    const CopyStep& c = step.copy;
    LayerStack lower(SLW_TRY(unpacked(st)));
    std::unique_ptr<LayerStack> from_stack;
    std::unique_ptr<StackTree> stack_tree;
    const SourceTree* tree = nullptr;
    if (c.from_stage) {
      from_stack = std::make_unique<LayerStack>(SLW_TRY(unpacked(states_[*c.from_stage])));
      stack_tree = std::make_unique<StackTree>(
          *from_stack, fmt::format("stage {}", plan_.stages[*c.from_stage].label()));
      tree = stack_tree.get();
    } else if (c.from_image) {
      from_stack =
          std::make_unique<LayerStack>(SLW_TRY(store_.unpacked_layers(c.from_image->image)));
      stack_tree = std::make_unique<StackTree>(
          *from_stack, fmt::format("image {}", c.from_image->image.names.empty()
                                                   ? c.from_image->image.id
                                                   : c.from_image->image.names.front()));
      tree = stack_tree.get();
    } else if (!c.request.sources.empty()) {
      tree = SLW_TRY(inputs_.context());
    }
    CopyOptions o;
    if (!c.chown.empty()) o.chown = SLW_TRY(with_context(resolve_owner(c.chown, lower), at(step)));
    if (!c.chmod.empty()) o.chmod = SLW_TRY(with_context(parse_chmod(c.chmod), at(step)));
    o.mtime = plan_.source_date_epoch;
    o.add = c.add;
    o.keep_source_owners = c.from_stage || c.from_image;
    o.cancelled = options_.cancelled;
    std::string dir = SLW_TRY(step_dir());
    std::vector<FdSource> files;
    std::vector<Download> fetched;  // ADD --checksum URLs, fetched only now that the cache missed
    fetched.reserve(c.urls.size());
    for (const auto& u : c.urls) {
      if (!u.download) {
        DownloadOptions d;
        d.cancelled = options_.cancelled;
        auto got = inputs_.fetch_url(u.url, dir, d);
        if (!got) return fail("{} {}: {}", at(step), u.url, got.error().message());
        SLW_TRY(with_context(check_checksum(u.checksum, got->digest),
                             fmt::format("{} {}", at(step), u.url)));
        fetched.push_back(std::move(*got));
      }
      files.push_back({u.name, u.download ? u.download->fd.get() : fetched.back().fd.get()});
    }
    std::string layer_dir = fs::join(dir, "layer");
    SLW_TRY(fs::make_dirs(layer_dir, 0755));
    EmptyTree empty;  // only heredoc and URL sources: no tree is read
    SLW_TRY(with_context(run_copy(c.request, tree ? *tree : empty, lower, layer_dir, o, files),
                         at(step)));
    auto layer = SLW_TRY(make_layer(layer_dir, st));
    (void)fs::remove_tree(dir);
    return layer;
  }

  Result<std::optional<CachedLayer>> do_workdir(const PlannedStep& step, StageState& st) {
    LayerStack lower(SLW_TRY(unpacked(st)));
    PathParts path = SLW_TRY(lower.resolve(step.workdir, true));
    auto existing = SLW_TRY(lower.lookup(path));
    if (existing && S_ISDIR(existing->st.st_mode)) return std::optional<CachedLayer>();
    if (existing) return fail("{}: {} exists and is not a directory", at(step), step.workdir);
    CopyOptions o;
    if (!step.user.empty())
      o.chown = SLW_TRY(with_context(resolve_owner(step.user, lower), at(step)));
    o.mtime = plan_.source_date_epoch;
    std::string dir = SLW_TRY(step_dir());
    std::string layer_dir = fs::join(dir, "layer");
    SLW_TRY(fs::make_dirs(layer_dir, 0755));
    LayerDirWriter writer = SLW_TRY(LayerDirWriter::open(layer_dir, lower, o));
    SLW_TRY(with_context(writer.ensure_dir(path), at(step)));
    SLW_TRY(writer.finish());
    auto layer = SLW_TRY(make_layer(layer_dir, st));
    (void)fs::remove_tree(dir);
    return layer;
  }

  Status build_stage(const PlannedStage& ps) {
    StageState& st = states_[ps.index];
    SLW_TRY(init_stage(ps, st));
    std::size_t total = ps.steps.size() + 1;
    say(fmt::format("[{} 1/{}] FROM {}", ps.label(), total, ps.from));
    for (std::size_t i = 0; i < ps.steps.size(); ++i) {
      SLW_TRY(check_cancel());
      const PlannedStep& step = ps.steps[i];
      std::string text = step.created_by;
      // One line per step: a heredoc's lines are shown escaped.
      for (std::size_t p = 0; (p = text.find('\n', p)) != std::string::npos; p += 2)
        text.replace(p, 1, "\\n");
      std::string head = fmt::format("[{} {}/{}] {}", ps.label(), i + 2, total, text);
      ++result_.steps;
      HistoryEntry h;
      h.created = created_;
      h.created_by = step.created_by;
      if (step.kind == StepKind::kConfig) {
        say(head);
        h.empty_layer = true;
        st.history.push_back(std::move(h));
        continue;
      }
      ++result_.layer_steps;
      std::optional<CacheEntry> hit;
      if (!options_.no_cache) hit = cache_.lookup(step.key, store_.blobs());
      std::optional<CachedLayer> layer;
      if (hit) {
        say("CACHED " + head);
        ++result_.cached;
        layer = hit->layer;
      } else {
        say(head);
        switch (step.kind) {
          case StepKind::kRun:
            layer = SLW_TRY(do_run(step, st));
            break;
          case StepKind::kCopy:
            layer = SLW_TRY(do_copy(step, st));
            break;
          case StepKind::kWorkdir:
            layer = SLW_TRY(do_workdir(step, st));
            break;
          case StepKind::kConfig:
            break;
        }
        SLW_TRY(cache_.store(step.key, CacheEntry{layer}));
      }
      h.empty_layer = !layer;
      st.history.push_back(std::move(h));
      if (!layer) continue;
      std::string chain = next_chain(st, layer->diff_id);
      if (hit && st.dirs.size() == st.layers.size()) {
        // A cached layer's directory is used if the store still has it, else unpacked later.
        if (fs::is_dir(store_.layer_dir(chain))) st.dirs.push_back(store_.layer_dir(chain));
      }
      st.layers.push_back(
          {layer->blob, layer->diff_id, chain, LayerRecord{layer->diff_id, layer->tar_size}});
      if (st.dirs.size() != st.layers.size()) st.dirs.clear();
    }
    return {};
  }

  const BuildPlan& plan_;
  ImageStore& store_;
  StorePlanInputs& inputs_;
  RunStepExecutor& runner_;
  const EngineOptions& options_;
  BuildCache cache_;
  std::string created_;
  std::string tmp_;
  bool tmp_made_ = false;
  int step_dirs_ = 0;
  std::vector<StageState> states_;
  BuildResult result_;
};

}  // namespace

Result<SourceImage> StorePlanInputs::image(std::string_view ref) {
  SourceImage out;
  out.image = SLW_TRY(find_image ? find_image(ref) : store_.resolve(ref));
  std::string text = SLW_TRY(store_.blobs().read(out.image.id));
  out.config = SLW_TRY(with_context(parse_build_config(text), out.image.id));
  return out;
}

Result<const ContextTree*> StorePlanInputs::context() {
  if (!context_) {
    ContextDigests digests = digest_cache.empty() ? ContextDigests() : ContextDigests::load(digest_cache);
    context_ = std::make_unique<ContextTree>(SLW_TRY(ContextTree::open(context_dir_, ignore_, std::move(digests))));
  }
  return context_.get();
}

Result<std::string> StorePlanInputs::context_digest(const std::vector<std::string>& sources) {
  const ContextTree* tree = SLW_TRY(context());
  auto matches = SLW_TRY(expand_sources(*tree, sources));
  return sources_digest(*tree, matches);
}

Result<BuildResult> run_build(const BuildPlan& plan, ImageStore& store, StorePlanInputs& inputs,
                              RunStepExecutor& runner, const EngineOptions& options) {
  return Engine(plan, store, inputs, runner, options).run();
}

}  // namespace slipway::oci
