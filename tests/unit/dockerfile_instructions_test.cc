// Typed instructions: every instruction's forms, flags and argument checks, with errors that give
// file:line and what is wrong.
#include "oci/dockerfile/instructions.h"

#include <gtest/gtest.h>

#include "tests/support/dockerfile_canonical.h"

namespace slipway::oci {
namespace {

using namespace std::chrono_literals;

// Parses "FROM scratch\n" + text and returns the instruction(s) after the FROM.
std::vector<Instruction> after_from(std::string_view text) {
  auto df = parse_dockerfile("FROM scratch\n" + std::string(text));
  EXPECT_TRUE(df) << df.error().message();
  if (!df) return {};
  return {df->instructions.begin() + 1, df->instructions.end()};
}

template <class T>
T one(std::string_view text) {
  auto list = after_from(text);
  EXPECT_EQ(list.size(), 1u) << text;
  if (list.size() != 1 || !list[0].as<T>()) {
    ADD_FAILURE() << "not the expected instruction: " << text;
    return T{};
  }
  return *list[0].as<T>();
}

// The error for "FROM scratch\n" + text: line numbers count that FROM as line 1.
std::string error_of(std::string_view text) {
  auto df = parse_dockerfile("FROM scratch\n" + std::string(text));
  return df ? "parsed" : df.error().message();
}

TEST(DockerfileInstructions, From) {
  auto df =
      parse_dockerfile("ARG V=1\nFROM --platform=linux/amd64 golang:${V} AS Build\nFROM build\n");
  ASSERT_TRUE(df) << df.error().message();
  ASSERT_EQ(df->instructions.size(), 3u);
  const auto* from = df->instructions[1].as<FromInstruction>();
  ASSERT_TRUE(from);
  EXPECT_EQ(from->image, "golang:${V}");
  EXPECT_EQ(from->stage_name, "build");
  EXPECT_EQ(from->platform, "linux/amd64");
  EXPECT_EQ(df->instructions[1].keyword, "FROM");
  EXPECT_EQ(df->instructions[1].start_line, 2);

  EXPECT_EQ(error_of("FROM a b"),
            "Dockerfile:2: FROM requires either one or three arguments (FROM image [AS name])");
  EXPECT_EQ(error_of("FROM a AS 1st"),
            "Dockerfile:2: invalid name for build stage: \"1st\", name can't start with a number "
            "or contain symbols");
  EXPECT_EQ(error_of("FROM --arch=x a"), "Dockerfile:2: unknown flag for FROM: --arch");
  EXPECT_EQ(parse_dockerfile("RUN x\nFROM a\n").error().message(),
            "Dockerfile:1: RUN before the first FROM: only ARG may come before FROM");
}

TEST(DockerfileInstructions, RunShellExecFlagsAndHeredocs) {
  auto run = one<RunInstruction>("RUN echo \"a b\"  c");
  EXPECT_EQ(run.command, (CommandLine{{"echo \"a b\"  c"}, true}));
  run = one<RunInstruction>("RUN [\"/bin/sh\", \"-c\", \"x\"]");
  EXPECT_EQ(run.command, (CommandLine{{"/bin/sh", "-c", "x"}, false}));
  run = one<RunInstruction>(
      "RUN --mount=type=cache,target=/c --mount=type=secret,id=s --network=none "
      "--security=insecure make");
  EXPECT_EQ(run.mounts, (std::vector<std::string>{"type=cache,target=/c", "type=secret,id=s"}));
  EXPECT_EQ(run.network, "none");
  EXPECT_EQ(run.security, "insecure");
  run = one<RunInstruction>("RUN <<-EOF bash\n\techo hi\n\tEOF\n");
  ASSERT_EQ(run.files.size(), 1u);
  EXPECT_EQ(run.files[0].name, "EOF");
  EXPECT_EQ(run.files[0].data, "\techo hi\n");
  EXPECT_TRUE(run.files[0].chomp);

  EXPECT_EQ(error_of("RUN"), "Dockerfile:2: RUN requires at least one argument");
  EXPECT_EQ(error_of("RUN --network=bridge x"),
            "Dockerfile:2: RUN --network=bridge: not supported (use default, none or host)");
  EXPECT_EQ(error_of("RUN --mount x"), "Dockerfile:2: RUN: missing a value on flag --mount");
  EXPECT_EQ(error_of("RUN --network=none --network=host x"),
            "Dockerfile:2: RUN: flag --network given more than once");
}

TEST(DockerfileInstructions, PlanRunWithHeredocs) {
  auto plan = plan_run(one<RunInstruction>("RUN <<EOF\napk add x\necho $HOME\nEOF\n"));
  EXPECT_EQ(plan.command, (CommandLine{{"apk add x\necho $HOME\n"}, true}));
  EXPECT_FALSE(plan.executable);

  plan = plan_run(
      one<RunInstruction>("RUN <<-SCRIPT\n\t#!/usr/bin/env python3\n\tprint(1)\nSCRIPT\n"));
  EXPECT_EQ(plan.command, (CommandLine{{"/dev/pipes/SCRIPT"}, false}));
  ASSERT_TRUE(plan.executable);
  EXPECT_EQ(plan.executable->data, "#!/usr/bin/env python3\nprint(1)\n");
  EXPECT_EQ(plan.executable_path, "/dev/pipes/SCRIPT");

  plan = plan_run(one<RunInstruction>("RUN python3 <<A && cat <<B\nprint(1)\nA\nb\nB\n"));
  EXPECT_EQ(plan.command, (CommandLine{{"python3 <<A && cat <<B\nprint(1)\nA\nb\nB"}, true}));

  plan = plan_run(one<RunInstruction>("RUN make"));
  EXPECT_EQ(plan.command, (CommandLine{{"make"}, true}));
}

TEST(DockerfileInstructions, CmdEntrypointShell) {
  EXPECT_EQ(one<CmdInstruction>("CMD [\"a\", \"b\"]").command, (CommandLine{{"a", "b"}, false}));
  EXPECT_EQ(one<CmdInstruction>("CMD []").command, (CommandLine{{}, false}));
  EXPECT_EQ(one<CmdInstruction>("CMD ['a']").command, (CommandLine{{"['a']"}, true}));
  EXPECT_EQ(one<EntrypointInstruction>("ENTRYPOINT exec top -b").command,
            (CommandLine{{"exec top -b"}, true}));
  EXPECT_EQ(one<ShellInstruction>("SHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]").shell,
            (std::vector<std::string>{"/bin/bash", "-eo", "pipefail", "-c"}));
  EXPECT_EQ(error_of("SHELL /bin/bash -c"),
            "Dockerfile:2: SHELL requires the arguments to be in JSON form");
  EXPECT_EQ(error_of("SHELL []"), "Dockerfile:2: SHELL requires at least one argument");
  EXPECT_EQ(error_of("CMD"), "Dockerfile:2: CMD requires at least one argument");
  EXPECT_EQ(error_of("CMD --x=1 [\"a\"]"), "Dockerfile:2: unknown flag for CMD: --x");
}

TEST(DockerfileInstructions, CopyFlagsSourcesAndHeredocs) {
  auto copy = one<CopyInstruction>(
      "COPY --from=build --chown=app:app --chmod=0755 --link --parents --exclude=*.md "
      "--exclude=.git a b /dst/");
  EXPECT_EQ(copy.sources, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(copy.dest, "/dst/");
  EXPECT_EQ(copy.from, "build");
  EXPECT_EQ(copy.chown, "app:app");
  EXPECT_EQ(copy.chmod, "0755");
  EXPECT_TRUE(copy.link);
  EXPECT_TRUE(copy.parents);
  EXPECT_EQ(copy.excludes, (std::vector<std::string>{"*.md", ".git"}));
  EXPECT_FALSE(one<CopyInstruction>("COPY --link=false a b").link);

  copy = one<CopyInstruction>("COPY <<one <<-'two' three /etc/\n1 $X\none\n\t2\n\ttwo\n");
  EXPECT_EQ(copy.sources, (std::vector<std::string>{"three"}));
  ASSERT_EQ(copy.inline_sources.size(), 2u);
  EXPECT_EQ(copy.inline_sources[0].name, "one");
  EXPECT_EQ(copy.inline_sources[0].data, "1 $X\n");
  EXPECT_TRUE(copy.inline_sources[0].expand);
  EXPECT_EQ(copy.inline_sources[1].data, "2\n");  // <<- strips the tabs
  EXPECT_FALSE(copy.inline_sources[1].expand);

  copy = one<CopyInstruction>("COPY << EOF /f\nx\nEOF\n");
  EXPECT_TRUE(copy.sources.empty());
  ASSERT_EQ(copy.inline_sources.size(), 1u);
  EXPECT_EQ(copy.inline_sources[0].data, "x\n");

  EXPECT_EQ(error_of("\nCOPY onlyone"),
            "Dockerfile:3: COPY requires at least two arguments, but only one was provided. "
            "Destination could not be determined");
  EXPECT_EQ(error_of("COPY --checksum=x a b"), "Dockerfile:2: unknown flag for COPY: --checksum");
  EXPECT_EQ(error_of("COPY --link=maybe a b"),
            "Dockerfile:2: COPY: expecting a boolean value for flag --link, not: maybe");
  EXPECT_EQ(error_of("COPY a <<EOF\nx\nEOF\n"),
            "Dockerfile:2: COPY cannot accept a heredoc as a destination");
}

TEST(DockerfileInstructions, Add) {
  auto add = one<AddInstruction>(
      "ADD --checksum=sha256:abc --keep-git-dir --chown=1 https://x/y.tgz git@h:r.git /d");
  EXPECT_EQ(add.sources, (std::vector<std::string>{"https://x/y.tgz", "git@h:r.git"}));
  EXPECT_EQ(add.checksum, "sha256:abc");
  EXPECT_TRUE(add.keep_git_dir);
  EXPECT_EQ(add.chown, "1");
  EXPECT_EQ(error_of("ADD --from=x a b"), "Dockerfile:2: unknown flag for ADD: --from");
  EXPECT_EQ(error_of("ADD a"),
            "Dockerfile:2: ADD requires at least two arguments, but only one was provided. "
            "Destination could not be determined");
}

TEST(DockerfileInstructions, EnvLabelArg) {
  EXPECT_EQ(one<EnvInstruction>("ENV A 1 2 3").vars, (std::vector<KeyValue>{{"A", "1 2 3"}}));
  EXPECT_EQ(one<EnvInstruction>("ENV A=1 B=\"x y\"").vars,
            (std::vector<KeyValue>{{"A", "1"}, {"B", "\"x y\""}}));
  EXPECT_EQ(one<LabelInstruction>("LABEL a=b c=d").labels,
            (std::vector<KeyValue>{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(one<ArgInstruction>("ARG A B=1 C=").args,
            (std::vector<ArgDecl>{{"A", std::nullopt}, {"B", "1"}, {"C", ""}}));
  EXPECT_EQ(error_of("ENV"), "Dockerfile:2: ENV requires at least one argument");
  EXPECT_EQ(error_of("ENV =x"), "Dockerfile:2: ENV names can not be blank");
  EXPECT_EQ(error_of("LABEL"), "Dockerfile:2: LABEL requires at least one argument");
  EXPECT_EQ(error_of("ARG"), "Dockerfile:2: ARG requires at least one argument");
  EXPECT_EQ(error_of("ARG =1"), "Dockerfile:2: ARG names can not be blank");
  EXPECT_EQ(error_of("ENV --x=1 A=1"), "Dockerfile:2: unknown flag for ENV: --x");
}

TEST(DockerfileInstructions, SingleArgumentInstructions) {
  EXPECT_EQ(one<UserInstruction>("USER app:staff").user, "app:staff");
  EXPECT_EQ(one<WorkdirInstruction>("WORKDIR /srv/my app").path, "/srv/my app");
  EXPECT_EQ(one<StopSignalInstruction>("STOPSIGNAL SIGQUIT").signal, "SIGQUIT");
  EXPECT_EQ(one<MaintainerInstruction>("MAINTAINER Jane <j@x>").maintainer, "Jane <j@x>");
  EXPECT_EQ(one<ExposeInstruction>("EXPOSE 80 443/tcp 53/udp").ports,
            (std::vector<std::string>{"80", "443/tcp", "53/udp"}));
  EXPECT_EQ(one<VolumeInstruction>("VOLUME /a /b").paths, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(one<VolumeInstruction>("VOLUME [\"/a b\"]").paths, (std::vector<std::string>{"/a b"}));
  for (const char* keyword : {"USER", "WORKDIR", "STOPSIGNAL", "MAINTAINER"}) {
    EXPECT_EQ(error_of(keyword),
              fmt::format("Dockerfile:2: {} requires exactly one argument", keyword));
  }
  EXPECT_EQ(error_of("EXPOSE"), "Dockerfile:2: EXPOSE requires at least one argument");
  EXPECT_EQ(error_of("VOLUME"), "Dockerfile:2: VOLUME requires at least one argument");
  EXPECT_EQ(error_of("VOLUME [\"\"]"), "Dockerfile:2: VOLUME specified can not be an empty string");
}

TEST(DockerfileInstructions, Healthcheck) {
  auto hc = one<HealthcheckInstruction>(
      "HEALTHCHECK --interval=1m30s --timeout=2.5s --start-period=100ms --start-interval=1s "
      "--retries=4 CMD curl -f http://localhost/ || exit 1");
  EXPECT_EQ(hc.test,
            (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}));
  EXPECT_EQ(hc.interval, 90s);
  EXPECT_EQ(hc.timeout, 2500ms);
  EXPECT_EQ(hc.start_period, 100ms);
  EXPECT_EQ(hc.start_interval, 1s);
  EXPECT_EQ(hc.retries, 4);
  hc = one<HealthcheckInstruction>("HEALTHCHECK --interval=0s CMD [\"/bin/check\", \"-q\"]");
  EXPECT_EQ(hc.test, (std::vector<std::string>{"CMD", "/bin/check", "-q"}));
  EXPECT_EQ(hc.interval, 0s);
  EXPECT_EQ(one<HealthcheckInstruction>("HEALTHCHECK none").test,
            (std::vector<std::string>{"NONE"}));

  EXPECT_EQ(error_of("HEALTHCHECK"), "Dockerfile:2: HEALTHCHECK requires at least one argument");
  EXPECT_EQ(error_of("HEALTHCHECK NONE x"), "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
  EXPECT_EQ(error_of("HEALTHCHECK CMD"), "Dockerfile:2: missing command after HEALTHCHECK CMD");
  EXPECT_EQ(error_of("HEALTHCHECK CONNECT TCP 7000"),
            "Dockerfile:2: unknown type \"CONNECT\" in HEALTHCHECK (try CMD)");
  EXPECT_EQ(error_of("HEALTHCHECK --interval=5 CMD x"),
            "Dockerfile:2: HEALTHCHECK --interval: missing unit in duration \"5\"");
  EXPECT_EQ(error_of("HEALTHCHECK --timeout=1us CMD x"),
            "Dockerfile:2: HEALTHCHECK --timeout=1us cannot be less than 1ms");
  EXPECT_EQ(error_of("HEALTHCHECK --retries=-1 CMD x"),
            "Dockerfile:2: HEALTHCHECK --retries cannot be negative (-1)");
}

TEST(DockerfileInstructions, Onbuild) {
  auto onbuild = one<OnbuildInstruction>("ONBUILD  COPY . /app");
  EXPECT_EQ(onbuild.expression, "COPY . /app");
  onbuild = one<OnbuildInstruction>("onbuild RUN <<EOF\nmake\nEOF\n");
  EXPECT_EQ(onbuild.expression, "RUN <<EOF\nmake\nEOF");
  EXPECT_EQ(error_of("ONBUILD ONBUILD RUN x"),
            "Dockerfile:2: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  EXPECT_EQ(error_of("ONBUILD FROM x"), "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(error_of("ONBUILD COPY x"),
            "Dockerfile:2: ONBUILD: COPY requires at least two arguments, but only one was "
            "provided. Destination could not be determined");
  EXPECT_EQ(error_of("ONBUILD"), "Dockerfile:2: ONBUILD requires at least one argument");
}

TEST(DockerfileInstructions, UnknownInstructionsAreErrorsWithLineAndHint) {
  EXPECT_EQ(error_of("\n\nCOPPY a b"),
            "Dockerfile:4: unknown instruction: COPPY (did you mean COPY?)");
  EXPECT_EQ(error_of("FOOBAR x"), "Dockerfile:2: unknown instruction: FOOBAR");
  // The line of a continued instruction is where it starts.
  EXPECT_EQ(error_of("RUN a \\\n  b\nWORKDIR a b \\\n c\nPLUGH"),
            "Dockerfile:6: unknown instruction: PLUGH");
}

TEST(DockerfileInstructions, InstructionsKeepTextAndLines) {
  auto df = parse_dockerfile("FROM a\nRUN make \\\n   all\n", "ctx/Dockerfile");
  ASSERT_TRUE(df);
  EXPECT_EQ(df->file(), "ctx/Dockerfile");
  EXPECT_EQ(df->instructions[1].text, "RUN make    all");
  EXPECT_EQ(df->instructions[1].start_line, 2);
  EXPECT_EQ(df->instructions[1].end_line, 3);
  auto bad = parse_dockerfile("FROM a\nUSER\n", "ctx/Dockerfile");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "ctx/Dockerfile:2: USER requires exactly one argument");
}

std::string canonical(std::string_view text) {
  auto list = after_from(text);
  return list.size() == 1 ? canonical_instruction(list[0]) : "parse failed";
}

TEST(DockerfileInstructions, CanonicalTextIgnoresSpellingButNotMeaning) {
  EXPECT_EQ(canonical("RUN make"),
            "{\"command\":{\"args\":[\"make\"],\"shell_form\":true},\"files\":[],\"mounts\":[],"
            "\"network\":\"\",\"security\":\"\",\"type\":\"RUN\"}");
  EXPECT_EQ(canonical("ENV a b"), canonical("env a=b"));
  EXPECT_EQ(canonical("COPY --chown=1 --link a   b"), canonical("COPY --link --chown=1 \\\n a b"));
  EXPECT_EQ(canonical("VOLUME /a /b"), canonical("VOLUME [\"/a\", \"/b\"]"));
  EXPECT_NE(canonical("RUN [\"make\"]"), canonical("RUN make"));
  EXPECT_NE(canonical("COPY <<A /f\nx\nA\n"), canonical("COPY <<A /f\ny\nA\n"));
  EXPECT_NE(canonical("ARG a"), canonical("ARG a="));
  // Bytes that are not UTF-8 stay distinct instead of collapsing into one replacement character.
  EXPECT_NE(canonical("LABEL a=\xff"), canonical("LABEL a=\xfe"));
  EXPECT_NE(canonical("LABEL a=\xff").find("\\\\xff"), std::string::npos);
}

}  // namespace
}  // namespace slipway::oci
