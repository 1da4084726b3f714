// Build planning without a store or root: stage selection, what each step runs or copies, and the
// layer cache keys (what changes them and what does not).
#include "oci/build/plan.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>

#include "oci/digest.h"

namespace slipway::oci {
namespace {

class FakeInputs : public PlanInputs {
 public:
  FakeInputs() { add_image("busybox", "sha256:" + std::string(64, 'b'), {"PATH=/bin"}); }

  void add_image(const std::string& name, const std::string& id, std::vector<std::string> env,
                 std::vector<std::string> on_build = {}) {
    SourceImage img;
    img.image.id = id;
    img.image.names = {name + ":latest"};
    img.config.platform = host_platform();
    img.config.config.env = std::move(env);
    img.config.config.on_build = std::move(on_build);
    images[name] = img;
  }

  Result<SourceImage> image(std::string_view ref) override {
    auto it = images.find(std::string(ref));
    if (it == images.end()) return fail("no such image: {}", ref);
    return it->second;
  }

  Result<std::string> context_digest(const std::vector<std::string>& sources) override {
    std::string all;
    for (const auto& s : sources) {
      if (!files.contains(s)) return fail("source \"{}\" not found in the build context", s);
      all += s + "=" + files[s] + ";";
    }
    return sha256_digest(all);
  }

  // URLs are served from `served` (no network); the rest is "HTTP 404".
  Result<Download> fetch_url(const std::string& url, const std::string&,
                             const DownloadOptions&) override {
    ++fetches;
    auto it = served.find(url);
    if (it == served.end()) return fail("HTTP 404");
    Download d;
    d.fd = UniqueFd(::memfd_create("fake-download", MFD_CLOEXEC));
    if (!d.fd) return fail_errno("memfd_create");
    if (::write(d.fd.get(), it->second.data(), it->second.size()) !=
        static_cast<ssize_t>(it->second.size()))
      return fail_errno("write");
    d.digest = sha256_digest(it->second);
    d.size = static_cast<int64_t>(it->second.size());
    return d;
  }

  std::map<std::string, std::string> served = {{"http://h/dir/x.txt", "x"}};
  int fetches = 0;
  std::map<std::string, SourceImage> images;
  std::map<std::string, std::string> files = {{"a.txt", "a"}, {"b.txt", "b"}, {".", "all"}};
};

Result<BuildPlan> plan(const std::string& text, FakeInputs& inputs, BuildOptions options = {}) {
  auto df = parse_dockerfile(text);
  if (!df) return std::unexpected(df.error());
  return plan_build(*df, options, inputs);
}

BuildPlan must_plan(const std::string& text, FakeInputs& inputs, BuildOptions options = {}) {
  auto p = plan(text, inputs, options);
  EXPECT_TRUE(p) << p.error().message();
  return p ? *p : BuildPlan{};
}

std::string plan_error(const std::string& text, FakeInputs& inputs, BuildOptions options = {}) {
  auto p = plan(text, inputs, options);
  if (p) ADD_FAILURE() << "no error for:\n" << text;
  return p ? "" : p.error().message();
}

// Layer steps' keys of the target stage, in order.
std::vector<std::string> keys(const BuildPlan& p, std::size_t stage) {
  std::vector<std::string> out;
  for (const auto& s : p.stages[stage].steps)
    if (s.kind != StepKind::kConfig) out.push_back(s.key);
  return out;
}

constexpr const char* kMultiStage = R"(FROM busybox AS base
RUN echo base
FROM base AS build
COPY a.txt /src/
RUN make
FROM build AS test
RUN make test
FROM busybox
COPY --from=build /src/a.txt /app/
CMD ["/app/a.txt"]
)";

TEST(BuildPlanTest, BuildsOnlyWhatTheTargetNeedsDependenciesFirst) {
  FakeInputs in;
  BuildPlan p = must_plan(kMultiStage, in);
  EXPECT_EQ(p.build_order, (std::vector<std::size_t>{0, 1, 3}));
  EXPECT_EQ(p.target, 3u);
  EXPECT_EQ(p.stages[3].steps[0].copy.from_stage, 1u);
  EXPECT_EQ(p.stages[1].base_stage, 0u);
  EXPECT_EQ(p.stages[3].label(), "stage-3");
  EXPECT_EQ(p.stages[1].label(), "build");

  BuildOptions o;
  o.target = "test";
  p = must_plan(kMultiStage, in, o);
  EXPECT_EQ(p.build_order, (std::vector<std::size_t>{0, 1, 2}));
  o.target = "nope";
  EXPECT_EQ(plan_error(kMultiStage, in, o),
            "Dockerfile: target stage \"nope\" could not be found (named stages: base, build, "
            "test)");
}

TEST(BuildPlanTest, RunStepsCarryShellEnvWorkdirUserAndNetwork) {
  FakeInputs in;
  BuildOptions o;
  o.build_args = {{"V", "2"}, {"HTTP_PROXY", "http://proxy:3128"}};
  BuildPlan p = must_plan(R"(FROM busybox
ARG V=1
ENV E=e
WORKDIR /w
USER nobody
SHELL ["/bin/sh", "-ec"]
RUN --network=host echo "$V"
RUN ["true"]
)",
                          in, o);
  const auto& steps = p.stages[0].steps;
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(steps[2].kind, StepKind::kWorkdir);
  EXPECT_EQ(steps[2].workdir, "/w");
  const RunStep& run = steps[5].run;
  EXPECT_EQ(steps[5].kind, StepKind::kRun);
  EXPECT_EQ(run.argv, (std::vector<std::string>{"/bin/sh", "-ec", "echo \"$V\""}));
  EXPECT_EQ(run.env,
            (std::vector<std::string>{"E=e", "PATH=/bin", "V=2", "HTTP_PROXY=http://proxy:3128"}));
  EXPECT_EQ(run.cwd, "/w");
  EXPECT_EQ(run.user, "nobody");
  EXPECT_EQ(run.network, "host");
  EXPECT_EQ(steps[5].created_by, "RUN |1 V=2 /bin/sh -ec echo \"$V\"");
  EXPECT_EQ(steps[6].run.argv, std::vector<std::string>{"true"});
  EXPECT_EQ(steps[6].run.network, "default");  // the build's --network, Docker's default bridge
  EXPECT_EQ(p.stages[0].config.image.config.working_dir, "/w");
}

TEST(BuildPlanTest, HeredocScriptsRunAsFiles) {
  FakeInputs in;
  BuildPlan p = must_plan("FROM busybox\nRUN <<EOF\n#!/bin/sh\necho from script\nEOF\n", in);
  const RunStep& run = p.stages[0].steps[0].run;
  ASSERT_TRUE(run.executable);
  EXPECT_EQ(run.executable_path, "/dev/pipes/EOF");
  EXPECT_EQ(run.argv, std::vector<std::string>{"/dev/pipes/EOF"});
  EXPECT_EQ(run.executable->data, "#!/bin/sh\necho from script\n");
}

TEST(BuildPlanTest, CacheKeysDependOnExactlyWhatDecidesALayer) {
  FakeInputs in;
  const std::string text = "FROM busybox\nARG V=1\nRUN echo $V\nCOPY a.txt /a\nRUN ls\n";
  BuildPlan a = must_plan(text, in);
  auto ka = keys(a, 0);
  ASSERT_EQ(ka.size(), 3u);
  EXPECT_EQ(keys(must_plan(text, in), 0), ka) << "same inputs, same keys";
  for (const auto& k : ka) EXPECT_TRUE(is_sha256_digest(k)) << k;

  // A build arg the RUN sees changes it and everything after it.
  BuildOptions o;
  o.build_args = {{"V", "2"}};
  auto kv = keys(must_plan(text, in, o), 0);
  EXPECT_NE(kv[0], ka[0]);
  EXPECT_NE(kv[2], ka[2]);
  // Proxy args are passed to RUN but are not part of any key, as in Docker.
  o.build_args = {{"http_proxy", "http://p:1"}};
  EXPECT_EQ(keys(must_plan(text, in, o), 0), ka);

  // Context content changes the COPY and what follows, not what came before.
  in.files["a.txt"] = "changed";
  auto kc = keys(must_plan(text, in), 0);
  EXPECT_EQ(kc[0], ka[0]);
  EXPECT_NE(kc[1], ka[1]);
  EXPECT_NE(kc[2], ka[2]);
  in.files["a.txt"] = "a";

  // Metadata does not touch layer keys; ENV does (RUN sees it).
  auto kl = keys(
      must_plan("FROM busybox\nARG V=1\nLABEL x=y\nRUN echo $V\nCOPY a.txt /a\nRUN ls\n", in), 0);
  EXPECT_EQ(kl, ka);
  auto ke = keys(
      must_plan("FROM busybox\nARG V=1\nENV X=y\nRUN echo $V\nCOPY a.txt /a\nRUN ls\n", in), 0);
  EXPECT_NE(ke[0], ka[0]);

  // Layers carry times clamped to SOURCE_DATE_EPOCH: another epoch changes everything.
  BuildOptions later;
  later.source_date_epoch = 1700000000;
  auto kt = keys(must_plan(text, in, later), 0);
  for (std::size_t i = 0; i < ka.size(); ++i) EXPECT_NE(kt[i], ka[i]);

  // Another base image changes everything.
  in.add_image("busybox", "sha256:" + std::string(64, 'c'), {"PATH=/bin"});
  auto kb = keys(must_plan(text, in), 0);
  for (std::size_t i = 0; i < ka.size(); ++i) EXPECT_NE(kb[i], ka[i]);
}

TEST(BuildPlanTest, CopyFromAStageIsKeyedByThatStage) {
  FakeInputs in;
  BuildPlan a = must_plan(kMultiStage, in);
  std::string copy_key = keys(a, 3)[0];
  in.files["a.txt"] = "other";  // changes stage "build", which the final stage copies from
  BuildPlan b = must_plan(kMultiStage, in);
  EXPECT_NE(keys(b, 3)[0], copy_key);
  EXPECT_EQ(keys(b, 0), keys(a, 0)) << "stage base does not read the context";
  EXPECT_EQ(a.stages[3].final_key, keys(a, 3).back());
}

TEST(BuildPlanTest, OnbuildTriggersOfTheBaseRunFirst) {
  FakeInputs in;
  in.add_image("onbuild-base", "sha256:" + std::string(64, 'd'), {"PATH=/bin"},
               {"ENV TRIGGERED=1", "RUN echo triggered"});
  BuildPlan p = must_plan("FROM onbuild-base\nONBUILD RUN later\nRUN echo mine\n", in);
  const auto& steps = p.stages[0].steps;
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].created_by, "ENV TRIGGERED=1");
  EXPECT_EQ(steps[1].created_by, "RUN /bin/sh -c echo triggered");
  EXPECT_EQ(steps[1].instruction.start_line, 1);
  EXPECT_EQ(p.stages[0].config.image.config.on_build, std::vector<std::string>{"RUN later"});
  EXPECT_EQ(p.stages[0].config.image.config.env_value("TRIGGERED"), "1");
}

TEST(BuildPlanTest, SubstitutionUsesArgsAndEnv) {
  FakeInputs in;
  BuildPlan p = must_plan(
      "ARG IMG=busybox\nFROM $IMG\nARG DIR=/opt\nENV APP=$DIR/app\nWORKDIR $APP\n"
      "COPY a.txt ${APP}/\nLABEL v=${MISSING:-default}\n",
      in);
  const auto& st = p.stages[0];
  EXPECT_EQ(st.from, "busybox");
  EXPECT_EQ(st.config.image.config.working_dir, "/opt/app");
  EXPECT_EQ(st.steps[3].copy.request.dest, "/opt/app/");
  EXPECT_EQ(st.steps[3].copy.request.workdir, "/opt/app");
  EXPECT_EQ(st.config.image.config.labels.at("v"), "default");
}

TEST(BuildPlanTest, ErrorsNameTheFileAndLine) {
  FakeInputs in;
  EXPECT_EQ(plan_error("FROM nothere\nRUN x\n", in),
            "Dockerfile:1: FROM nothere: no such image: nothere");
  EXPECT_EQ(plan_error("FROM busybox\nCOPY missing.txt /x\n", in),
            "Dockerfile:2: COPY: source \"missing.txt\" not found in the build context");
  EXPECT_EQ(plan_error("FROM busybox\nRUN --mount=type=cache,target=/c make\n", in),
            "Dockerfile:2: RUN --mount is not supported yet");
  EXPECT_EQ(plan_error("FROM busybox\nADD https://example.com/x.tgz /x\n", in),
            "Dockerfile:2: ADD https://example.com/x.tgz: HTTP 404");
  EXPECT_EQ(plan_error("FROM busybox\nCOPY --chmod=u+x a.txt /x\n", in),
            "Dockerfile:2: COPY: invalid --chmod=u+x: only octal modes such as 755 are supported");
  EXPECT_EQ(plan_error("FROM --platform=linux/s390x busybox\n", in),
            fmt::format("Dockerfile:1: FROM --platform=linux/s390x: slipway builds for {} only",
                        host_platform().str()));
  EXPECT_EQ(plan_error("FROM busybox\nEXPOSE nope\n", in),
            "Dockerfile:2: EXPOSE: invalid port \"nope\"");
}

TEST(BuildPlanTest, UnusedBuildArgsAreWarnedAbout) {
  FakeInputs in;
  BuildOptions o;
  o.build_args = {{"USED", "1"}, {"UNUSED", "2"}};
  BuildPlan p = must_plan("FROM busybox\nARG USED\nRUN echo $USED\n", in, o);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("UNUSED"), std::string::npos);
  EXPECT_EQ(p.warnings[0].find("USED,"), std::string::npos);
}

TEST(BuildPlanTest, ScratchStagesHaveTheHostPlatform) {
  FakeInputs in;
  BuildPlan p = must_plan("FROM scratch\nCOPY a.txt /\n", in);
  EXPECT_FALSE(p.stages[0].base_image);
  EXPECT_FALSE(p.stages[0].base_stage);
  EXPECT_EQ(p.stages[0].config.image.platform.str(), host_platform().str());
  auto vars = predefined_platform_args(host_platform());
  EXPECT_EQ(vars.at("TARGETARCH"), host_platform().architecture);
  EXPECT_EQ(vars.at("BUILDPLATFORM"), host_platform().str());
}

}  // namespace
}  // namespace slipway::oci

namespace slipway::oci {
namespace {

TEST(BuildPlanTest, AddUrlsAreFetchedAndKeyedByContent) {
  FakeInputs in;
  const std::string text = "FROM busybox\nADD http://h/dir/x.txt a.txt /d/\nRUN ls\n";
  BuildPlan p = must_plan(text, in);
  EXPECT_EQ(in.fetches, 1);
  const CopyStep& c = p.stages[0].steps[0].copy;
  EXPECT_EQ(c.request.sources, std::vector<std::string>{"a.txt"}) << "local sources only";
  ASSERT_EQ(c.urls.size(), 1u);
  EXPECT_EQ(c.urls[0].url, "http://h/dir/x.txt");
  EXPECT_EQ(c.urls[0].name, "x.txt");
  EXPECT_EQ(c.urls[0].digest, sha256_digest("x"));
  EXPECT_TRUE(c.urls[0].checksum.empty());
  ASSERT_TRUE(c.urls[0].download);
  EXPECT_EQ(c.urls[0].download->size, 1);
  auto ka = keys(p, 0);

  // Docker downloads every time and keys by content: the same content hits, other content misses
  // (and so does everything after it).
  EXPECT_EQ(keys(must_plan(text, in), 0), ka);
  EXPECT_EQ(in.fetches, 2);
  in.served["http://h/dir/x.txt"] = "changed";
  auto kc = keys(must_plan(text, in), 0);
  EXPECT_NE(kc[0], ka[0]);
  EXPECT_NE(kc[1], ka[1]);

  // Only URL steps carry URL digests: a step without one keeps the key it always had.
  auto plain = keys(must_plan("FROM busybox\nADD a.txt /d/\n", in), 0);
  EXPECT_EQ(plain, keys(must_plan("FROM busybox\nADD a.txt /d/\n", in), 0));
}

TEST(BuildPlanTest, AddChecksumIsTheDigestUpfront) {
  FakeInputs in;
  std::string sum = sha256_digest("x");
  std::string upper = sum;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  BuildPlan p = must_plan("FROM busybox\nADD --checksum=" + upper + " http://h/dir/x.txt /x\n", in);
  EXPECT_EQ(in.fetches, 0) << "the engine fetches on a cache miss only";
  const CopyStep& c = p.stages[0].steps[0].copy;
  ASSERT_EQ(c.urls.size(), 1u);
  EXPECT_EQ(c.urls[0].checksum, sum) << "normalised to lowercase";
  EXPECT_EQ(c.urls[0].digest, sum);
  EXPECT_FALSE(c.urls[0].download);
  // The key is the content's either way, so both forms share a cache entry.
  EXPECT_EQ(keys(p, 0), keys(must_plan("FROM busybox\nADD http://h/dir/x.txt /x\n", in), 0));
}

TEST(BuildPlanTest, AddUrlErrorsAreDockers) {
  FakeInputs in;
  std::string sum = sha256_digest("x");
  EXPECT_EQ(plan_error("FROM busybox\nADD --checksum=" + sum + " a.txt /x\n", in),
            "Dockerfile:2: ADD: checksum can't be specified for non-HTTP(S) sources");
  EXPECT_EQ(
      plan_error("FROM busybox\nADD --checksum=" + sum + " http://h/dir/x.txt a.txt /d/\n", in),
      "Dockerfile:2: ADD: checksum can't be specified for multiple sources");
  EXPECT_EQ(plan_error("FROM busybox\nADD --checksum=md5:abc http://h/dir/x.txt /x\n", in),
            "Dockerfile:2: ADD: invalid --checksum=md5:abc: want sha256:<64 hex digits>");
  EXPECT_EQ(plan_error("FROM busybox\nADD --checksum=sha256:abc http://h/dir/x.txt /x\n", in),
            "Dockerfile:2: ADD: invalid --checksum=sha256:abc: want sha256:<64 hex digits>");
  EXPECT_EQ(plan_error("FROM busybox\nADD http://h/missing /x\n", in),
            "Dockerfile:2: ADD http://h/missing: HTTP 404");
  EXPECT_EQ(plan_error("FROM busybox\nADD git@github.com:a/b.git /src\n", in),
            "Dockerfile:2: ADD git@github.com:a/b.git: only http:// and https:// URLs are "
            "supported: clone a git repository in a RUN step");
  EXPECT_EQ(plan_error("FROM busybox\nCOPY http://h/dir/x.txt /x\n", in),
            "Dockerfile:2: COPY http://h/dir/x.txt: source can't be a URL for COPY");
  EXPECT_EQ(plan_error("FROM busybox\nCOPY --checksum=" + sum + " a.txt /x\n", in),
            "Dockerfile:2: unknown flag for COPY: --checksum");
}

TEST(BuildPlanTest, UrlFileNamesAreTheLastPathElement) {
  EXPECT_EQ(url_file_name("http://h/a/b.txt"), "b.txt");
  EXPECT_EQ(url_file_name("https://h:8080/a/b.tar.gz?x=1/y#frag/z"), "b.tar.gz");
  EXPECT_EQ(url_file_name("http://h/a/dir/"), "dir");
  EXPECT_EQ(url_file_name("http://h/a%20b.txt"), "a b.txt");
  EXPECT_EQ(url_file_name("http://h/100%"), "100%");
  EXPECT_EQ(url_file_name("http://h/"), "__unnamed__");
  EXPECT_EQ(url_file_name("http://h"), "__unnamed__");
  EXPECT_EQ(url_file_name("http://h?q=a/b"), "__unnamed__");
  EXPECT_TRUE(is_http_url("https://h/x"));
  EXPECT_FALSE(is_http_url("ftp://h/x"));
  EXPECT_TRUE(is_url("ftp://h/x"));
  EXPECT_TRUE(is_url("git@h:r.git"));
  EXPECT_FALSE(is_url("dir/file"));
  EXPECT_EQ(check_checksum("sha256:a", "sha256:b").error().message(),
            "checksum mismatch: want sha256:a, got sha256:b");
}

}  // namespace
}  // namespace slipway::oci
