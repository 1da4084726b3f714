// The Dockerfile line parser: directives, comments, continuations, heredocs, flags, JSON and
// shell forms, line numbers and errors.
#include "oci/dockerfile/parser.h"

#include <gtest/gtest.h>

#include "oci/dockerfile/heredoc.h"
#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

Ast parse_ok(std::string_view text) {
  auto ast = parse_dockerfile_ast(text);
  EXPECT_TRUE(ast) << ast.error().message();
  return ast ? std::move(*ast) : Ast{};
}

std::string parse_error(std::string_view text) {
  auto ast = parse_dockerfile_ast(text);
  return ast ? "parsed: " + dump_ast(*ast) : ast.error().message();
}

TEST(DockerfileParser, EscapeDirectiveChangesContinuationAndIsCaseInsensitive) {
  Ast ast = parse_ok("# ESCAPE = `\nFROM windows\nRUN dir C:\\ `\n  && echo done\n");
  EXPECT_EQ(ast.escape, '`');
  EXPECT_EQ(dump_ast(ast), "(from \"windows\")\n(run \"dir C:\\\\   && echo done\")\n");
  EXPECT_EQ(ast.nodes[1].start_line, 3);
  EXPECT_EQ(ast.nodes[1].end_line, 4);
}

TEST(DockerfileParser, DirectivesOnlyAtTheTop) {
  // After a comment that is no directive, "# escape=`" is an ordinary comment.
  Ast ast = parse_ok("# hello\n# escape=`\nFROM a\n");
  EXPECT_EQ(ast.escape, '\\');
  // After an instruction too.
  ast = parse_ok("FROM a\n# escape=`\nRUN x \\\n y\n");
  EXPECT_EQ(ast.escape, '\\');
  EXPECT_EQ(ast.nodes[1].args[0], "x  y");
  ast = parse_ok("#syntax=docker/dockerfile:1\n#escape=\\\nFROM a\n");
  EXPECT_EQ(ast.syntax, "docker/dockerfile:1");
}

TEST(DockerfileParser, DirectiveErrorsNameTheLine) {
  EXPECT_EQ(parse_error("# escape=`\n# escape=\\\nFROM a\n"),
            "Dockerfile:2: only one escape parser directive can be used");
  EXPECT_EQ(parse_error("# syntax=a\n# SYNTAX=b\nFROM a\n"),
            "Dockerfile:2: only one syntax parser directive can be used");
  EXPECT_EQ(parse_error("# escape=x\nFROM a\n"),
            "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
}

TEST(DockerfileParser, ContinuationAcrossCommentsAndEmptyLines) {
  Ast ast = parse_ok(
      "FROM a\n"
      "RUN apt-get update \\\n"
      "# a comment inside\n"
      "\n"
      "    && apt-get install -y x \\\n"
      "  # an indented comment\n"
      "    && rm -rf /var/lib/apt/lists\n"
      "CMD [\"x\"]\n");
  ASSERT_EQ(ast.nodes.size(), 3u);
  EXPECT_EQ(ast.nodes[1].args[0],
            "apt-get update     && apt-get install -y x     && rm -rf /var/lib/apt/lists");
  EXPECT_EQ(ast.nodes[1].start_line, 2);
  EXPECT_EQ(ast.nodes[1].end_line, 7);
  EXPECT_EQ(ast.nodes[2].start_line, 8);
  ASSERT_EQ(ast.warnings.size(), 1u);
  EXPECT_EQ(ast.warnings[0].rfind("Dockerfile:2: empty continuation line", 0), 0u);
}

TEST(DockerfileParser, EscapedEscapeDoesNotContinue) {
  Ast ast = parse_ok("FROM a\nENV A=c:\\\\\nENV B=x\n");
  ASSERT_EQ(ast.nodes.size(), 3u);
  EXPECT_EQ(ast.nodes[1].args[1], "c:\\\\");
}

TEST(DockerfileParser, CrlfBomAndCaseOfKeywords) {
  Ast ast = parse_ok(
      "\xEF\xBB\xBF"
      "from alpine\r\nRun echo a \\\r\n  b\r\n");
  EXPECT_EQ(dump_ast(ast), "(from \"alpine\")\n(run \"echo a   b\")\n");
  EXPECT_EQ(ast.nodes[0].original, "from alpine");
}

TEST(DockerfileParser, JsonFormAndItsFallbacks) {
  Ast ast = parse_ok(
      "CMD [\"a\", \"b c\"]\n"
      "CMD [ \"a\" ] trailing\n"
      "CMD ['single']\n"
      "ENTRYPOINT []\n"
      "VOLUME [\"/a\", \"/b\"]\n"
      "VOLUME /a /b\n"
      "COPY [\"a b\", \"/c\"]\n");
  EXPECT_TRUE(ast.nodes[0].json);
  EXPECT_EQ(ast.nodes[0].args, (std::vector<std::string>{"a", "b c"}));
  EXPECT_FALSE(ast.nodes[1].json);
  EXPECT_EQ(ast.nodes[1].args, (std::vector<std::string>{"[ \"a\" ] trailing"}));
  EXPECT_FALSE(ast.nodes[2].json);
  EXPECT_TRUE(ast.nodes[3].json);
  EXPECT_TRUE(ast.nodes[3].args.empty());
  EXPECT_TRUE(ast.nodes[4].json);
  EXPECT_FALSE(ast.nodes[5].json);
  EXPECT_EQ(ast.nodes[5].args, ast.nodes[4].args);
  EXPECT_EQ(ast.nodes[6].args, (std::vector<std::string>{"a b", "/c"}));
  // Valid JSON that is not an array of strings is an error, not a fallback.
  EXPECT_EQ(parse_error("FROM a\nRUN [\"a\", 1]\n"),
            "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings "
            "only");
  EXPECT_EQ(parse_error("FROM a\nCOPY [\"a\", {}]\n").rfind("Dockerfile:2: when using JSON", 0),
            0u);
}

TEST(DockerfileParser, FlagsStopAtTheFirstOtherWordOrAtDoubleDash) {
  Ast ast = parse_ok(
      "COPY --from=build --chown=\"a b\":c --link src /dst\n"
      "RUN --mount=type=cache,target=/root/.cache -- --not-a-flag\n");
  EXPECT_EQ(ast.nodes[0].flags,
            (std::vector<std::string>{"--from=build", "--chown=a b:c", "--link"}));
  EXPECT_EQ(ast.nodes[0].args, (std::vector<std::string>{"src", "/dst"}));
  EXPECT_EQ(ast.nodes[1].flags,
            (std::vector<std::string>{"--mount=type=cache,target=/root/.cache"}));
  EXPECT_EQ(ast.nodes[1].args, (std::vector<std::string>{"--not-a-flag"}));
}

TEST(DockerfileParser, EnvLabelArgForms) {
  Ast ast = parse_ok(
      "ENV PATH /usr/bin:/bin\n"
      "ENV A=1 B=\"two words\" C=three\\ words\n"
      "LABEL \"com.example.vendor\"=\"ACME\" version=1.0\n"
      "ARG a b=c \"d=e f\"\n");
  EXPECT_EQ(ast.nodes[0].args, (std::vector<std::string>{"PATH", "/usr/bin:/bin", ""}));
  EXPECT_EQ(ast.nodes[1].args, (std::vector<std::string>{"A", "1", "=", "B", "\"two words\"", "=",
                                                         "C", "three\\ words", "="}));
  EXPECT_EQ(ast.nodes[2].args, (std::vector<std::string>{"\"com.example.vendor\"", "\"ACME\"", "=",
                                                         "version", "1.0", "="}));
  EXPECT_EQ(ast.nodes[3].args, (std::vector<std::string>{"a", "b=c", "\"d=e f\""}));
  EXPECT_EQ(parse_error("FROM a\nENV A=1 B\n"),
            "Dockerfile:2: syntax error - can't find = in \"B\". Must be of the form: name=value");
  EXPECT_EQ(parse_error("FROM a\nLABEL onlykey\n"), "Dockerfile:2: LABEL must have two arguments");
}

TEST(DockerfileParser, OnbuildNestsItsInstruction) {
  Ast ast = parse_ok("ONBUILD COPY --chown=1 . /app\nONBUILD RUN [\"make\"]\n");
  ASSERT_EQ(ast.nodes[0].nested.size(), 1u);
  EXPECT_EQ(ast.nodes[0].nested[0].keyword, "copy");
  EXPECT_EQ(ast.nodes[0].nested[0].flags, (std::vector<std::string>{"--chown=1"}));
  EXPECT_EQ(dump_ast(ast),
            "(onbuild (copy [\"--chown=1\"] \".\" \"/app\"))\n(onbuild (run \"make\"))\n");
}

TEST(DockerfileParser, HeredocsAsBuildkitReadsThem) {
  Ast ast = parse_ok(
      "FROM alpine\n"
      "RUN <<EOF\n"
      "echo hello\n"
      "# not a comment here\n"
      "EOF\n"
      "RUN 3<<-'NOEXPAND' python3\n"
      "\tprint('$X')\n"
      "\tNOEXPAND\n"
      "COPY <<X <<Y /dest\n"
      "Y\n"
      "X\n"
      "X\n"
      "Y\n"
      "RUN <<eo\\'f <<\"e\"o'f' <<  SPACED\n"
      "a\n"
      "eo'f\n"
      "b\n"
      "eof\n"
      "SPACED\n"
      "RUN \"<<NOTHING\" && echo <<$NAME\n"
      "$NAME\n"
      "RUN [\"<<EOF\"]\n"
      "CMD <<EOF\n");
  ASSERT_EQ(ast.nodes.size(), 8u);
  const auto& run = ast.nodes[1];
  ASSERT_EQ(run.heredocs.size(), 1u);
  EXPECT_EQ(run.heredocs[0].name, "EOF");
  EXPECT_EQ(run.heredocs[0].content, "echo hello\n# not a comment here\n");
  EXPECT_TRUE(run.heredocs[0].expand);
  EXPECT_EQ(run.start_line, 2);
  EXPECT_EQ(run.end_line, 5);

  const auto& py = ast.nodes[2].heredocs.at(0);
  EXPECT_EQ(py.name, "NOEXPAND");
  EXPECT_EQ(py.fd, 3u);
  EXPECT_TRUE(py.chomp);
  EXPECT_FALSE(py.expand);
  EXPECT_EQ(py.content, "\tprint('$X')\n");
  EXPECT_EQ(chomp_heredoc(py.content), "print('$X')\n");

  const auto& copy = ast.nodes[3];
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_EQ(copy.heredocs[0].content, "Y\n");
  EXPECT_EQ(copy.heredocs[1].content, "X\n");
  EXPECT_EQ(copy.end_line, 13);

  const auto& quoted = ast.nodes[4].heredocs;
  ASSERT_EQ(quoted.size(), 3u);
  EXPECT_EQ(quoted[0].name, "eo'f");
  EXPECT_TRUE(quoted[0].expand);  // an escaped quote does not count as quoting
  EXPECT_EQ(quoted[1].name, "eof");
  EXPECT_FALSE(quoted[1].expand);
  EXPECT_EQ(quoted[2].name, "SPACED");

  ASSERT_EQ(ast.nodes[5].heredocs.size(), 1u);
  EXPECT_EQ(ast.nodes[5].heredocs[0].name, "$NAME");
  EXPECT_TRUE(ast.nodes[6].heredocs.empty());  // JSON form has none
  EXPECT_TRUE(ast.nodes[7].heredocs.empty());  // CMD cannot have one
  EXPECT_EQ(ast.nodes[7].end_line, 23);
}

// The cases of buildkit's TestParseExtractsHeredoc, one instruction each.
TEST(DockerfileParser, HeredocCasesOfBuildkit) {
  Ast ast = parse_ok(
      "\nFROM alpine:3.6\n\nENV NAME=me\n\nRUN ls\n\nUSER <<INVALID\nINVALID\n\n"
      "RUN <<EMPTY\nEMPTY\n\nRUN 3<<EMPTY2\nEMPTY2\n\nRUN \"<<NOHEREDOC\"\n\n"
      "RUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\nRUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\n\n"
      "RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\nRUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\n"
      "RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\n"
      "RUN <<COPY\necho hello world\necho foo bar\nCOPY\n\n"
      "RUN <<COMMENT\n# internal comment\necho hello world\necho foo bar # trailing comment\n"
      "COMMENT\n\nRUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\n"
      "COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n\n"
      "COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n\nCOPY <<X <<Y /dest\nY\nX\nX\nY\n\n"
      "RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n\n"
      "COPY <<file.txt /dest\nhello world\nfile.txt\n\nRUN <<eo'f'\necho foo\neof\n\n"
      "RUN <<eo\\'f\necho foo\neo'f\n\nRUN <<'e'o\\'f\necho foo\neo'f\n\n"
      "RUN <<'one two'\necho bar\none two\n\nRUN <<$EOF\n$EOF\n\nRUN <<  EOF\nEOF\n\n"
      "RUN <<  EOF  > foo\nEOF\n\t");
  struct Doc {
    std::string name;
    std::string content;
    bool expand = true;
    bool chomp = false;
    unsigned fd = 0;
  };
  const std::vector<std::vector<Doc>> expected = {
      {},
      {},
      {},
      {},
      {{"EMPTY", ""}},
      {{"EMPTY2", "", true, false, 3}},
      {},
      {{"INDENT", "\tfoo\n\tbar\n"}},
      {{"UNINDENT", "\tbaz\n\tquux\n", true, true}},
      {{"UNINDENT2", "\tbaz\n\tquux\n", true, true}},
      {{"EXPAND", "\texpand $NAME\n", true, true}},
      {{"NOEXPAND", "\tdon't expand $NAME\n", false, true}},
      {{"COPY", "echo hello world\necho foo bar\n"}},
      {{"COMMENT", "# internal comment\necho hello world\necho foo bar # trailing comment\n"}},
      {{"MOUNT", "echo hello\n"}},
      {{"FILE1", "content 1\n"}, {"FILE2", "content 2\n"}},
      {{"EOF", "\"foo\"\n'bar'\n"}},
      {{"X", "Y\n"}, {"Y", "X\n"}},
      {{"COMPLEX", "print('hello world')\n"}},
      {{"file.txt", "hello world\n"}},
      {{"eof", "echo foo\n", false}},
      {{"eo'f", "echo foo\n", true}},
      {{"eo'f", "echo foo\n", false}},
      {{"one two", "echo bar\n", false}},
      {{"$EOF", ""}},
      {{"EOF", ""}},
      {{"EOF", ""}},
  };
  ASSERT_EQ(ast.nodes.size(), expected.size() + 1);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Node& node = ast.nodes[i + 1];
    SCOPED_TRACE(node.original);
    ASSERT_EQ(node.heredocs.size(), expected[i].size());
    for (std::size_t j = 0; j < expected[i].size(); ++j) {
      EXPECT_EQ(node.heredocs[j].name, expected[i][j].name);
      EXPECT_EQ(node.heredocs[j].content, expected[i][j].content);
      EXPECT_EQ(node.heredocs[j].expand, expected[i][j].expand);
      EXPECT_EQ(node.heredocs[j].chomp, expected[i][j].chomp);
      EXPECT_EQ(node.heredocs[j].fd, expected[i][j].fd);
    }
  }
}

TEST(DockerfileParser, UnterminatedHeredocNamesWhereItStarted) {
  EXPECT_EQ(parse_error("FROM a\n\nRUN <<EOF\necho\n"),
            "Dockerfile:3: unterminated heredoc <<EOF: no line EOF before the end of the file");
  // A line the shell lexer cannot split holds no heredoc (buildkit ignores that lexing error);
  // the shell will complain when the command runs.
  Ast ast = parse_ok("FROM a\nRUN cat <<'EOF\nRUN true\n");
  ASSERT_EQ(ast.nodes.size(), 3u);
  EXPECT_TRUE(ast.nodes[1].heredocs.empty());
}

TEST(DockerfileParser, ParseHeredocWords) {
  for (const char* word : {"<<EOF", "<<'EOF'", "<<\"EOF\"", "<<-EOF", "<<-'EOF'", "<<-\"EOF\"",
                           "<<EO\"F\"", "<< EOF", "<<- EOF"}) {
    auto h = parse_heredoc(word);
    ASSERT_TRUE(h && *h) << word;
    EXPECT_EQ((*h)->name, "EOF") << word;
  }
  for (const char* word : {"", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"}) {
    auto h = parse_heredoc(word);
    ASSERT_TRUE(h) << word;
    EXPECT_FALSE(*h) << word;
  }
  for (const char* word : {"<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""}) {
    EXPECT_FALSE(parse_heredoc(word)) << word;
  }
}

TEST(DockerfileParser, ErrorsAndEmptyFiles) {
  EXPECT_EQ(parse_error(""), "Dockerfile: file with no instructions");
  EXPECT_EQ(parse_error("# only a comment\n\n"), "Dockerfile: file with no instructions");
  auto ast = parse_dockerfile_ast("\n\nFROM a\nENV X\n", "build/Containerfile");
  ASSERT_FALSE(ast);
  EXPECT_EQ(ast.error().message(), "build/Containerfile:4: ENV must have two arguments");
}

TEST(DockerfileParser, CommentsBeforeAnInstructionAreKept) {
  Ast ast = parse_ok("# detached\n\n# FOO the foo value\nARG FOO=1\nFROM a\n");
  EXPECT_EQ(ast.nodes[0].comments, (std::vector<std::string>{"FOO the foo value"}));
  EXPECT_TRUE(ast.nodes[1].comments.empty());
}

TEST(DockerfileParser, DumpQuotesLikeGo) {
  EXPECT_EQ(go_quote("a\"b\\c\td\x01\x7f"), "\"a\\\"b\\\\c\\td\\x01\\x7f\"");
  EXPECT_EQ(go_quote("\xE2\x99\xA5 \xC2\xA0 \xE2\x80\x8B \xFF"),
            "\"\xE2\x99\xA5 \\u00a0 \\u200b \\xff\"");
  EXPECT_EQ(go_quote(std::string("\0", 1)), "\"\\x00\"");
}

}  // namespace
}  // namespace slipway::oci
