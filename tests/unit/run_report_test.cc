// Pipeline run reports (summary JSON, JUnit XML, HTML) and the live step progress.
#include "pipeline/run_report.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "base/fs.h"
#include "pipeline/step_progress.h"
#include "tests/support/test_support.h"

namespace slipway::pipeline {
namespace {

using ::slipway::testing::TempDir;

RunRecord sample_run() {
  RunRecord run;
  run.id = "r-20240501-abc";
  run.app = "hello";
  run.environment = "testing";
  run.repo = "https://example.com/hello.git";
  run.branch = "main";
  run.commit = "0123456789abcdef";
  run.commit_summary = "Fix <greeting> & \"quotes\"";
  run.image = "registry.local/hello:0123456";
  run.start_unix_ms = 1'714'560'000'000;
  run.duration_ms = 10'000;
  run.finished = true;
  run.passed = false;
  auto step = [&](std::string name, StepStatus st, int64_t off, int64_t dur, int64_t cmd, int code,
                  std::string msg, std::string log) {
    run.steps.push_back({std::move(name), st, off < 0 ? 0 : run.start_unix_ms + off, dur, cmd, code,
                         std::move(msg), std::move(log)});
  };
  step("checkout", StepStatus::kPassed, 0, 500, -1, -1, "", "checkout.log");
  step("build", StepStatus::kPassed, 500, 4000, -1, -1, "", "build.log");
  step("unit", StepStatus::kFailed, 4500, 5500, 5000, 1, "unit tests exited with 1", "unit.log");
  step("push", StepStatus::kSkipped, -1, 0, -1, -1, "testing does not push", "");
  return run;
}

// The nasty log: CDATA end, markup, entities, a NUL, terminal colors and a bare ESC, bad UTF-8.
const std::string kNastyLog = std::string("ok ]]> <b>&amp; 'x'\n") + '\0' + "nul\n" +
                              "\x1b[31mred\x1b[0m \x1b bare \xff\xfe\n<script>alert(1)</script>\n";

void write_logs(const std::string& dir) {
  ASSERT_TRUE(fs::write_file(fs::join(dir, "checkout.log"), "cloned 3 files\n"));
  ASSERT_TRUE(fs::write_file(fs::join(dir, "build.log"), "step 1/3 FROM busybox\n"));
  ASSERT_TRUE(fs::write_file(fs::join(dir, "unit.log"), kNastyLog));
}

bool well_formed_xml(const std::string& path) {
  if (::access("/usr/bin/xmllint", X_OK) == 0)
    return ::slipway::testing::run_command({"xmllint", "--noout", path}).exit_code == 0;
  return ::slipway::testing::run_command(
             {"python3", "-c", "import sys,xml.dom.minidom;xml.dom.minidom.parse(sys.argv[1])",
              path})
             .exit_code == 0;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

TEST(RunReportTest, SummaryJsonRoundTrips) {
  RunRecord run = sample_run();
  std::string text = summary_json(run);
  EXPECT_NE(text.find("\"overhead_ms\": 500"), std::string::npos) << text;
  EXPECT_EQ(count(text, "overhead_ms"), 1);                // only the step with a command
  EXPECT_LT(text.find("\"id\""), text.find("\"steps\""));  // stable, declared order
  auto back = parse_summary_json(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, run);
  EXPECT_EQ(summary_json(*back), text);

  EXPECT_FALSE(parse_summary_json("{not json"));
  EXPECT_FALSE(parse_summary_json(R"({"steps":[{"name":"x","status":"exploded"}]})"));
  EXPECT_FALSE(parse_summary_json(R"({"steps":[{"name":3}]})"));
}

TEST(RunReportTest, FormatsDurations) {
  EXPECT_EQ(format_duration(400), "0.40 s");
  EXPECT_EQ(format_duration(12'345), "12.35 s");
  EXPECT_EQ(format_duration(125'000), "2m 05s");
  EXPECT_EQ(format_duration(3'720'000), "1h 02m");
}

TEST(RunReportTest, JunitCountsAndEscaping) {
  TempDir dir("run-report");
  write_logs(dir.path());
  RunRecord run = sample_run();
  std::string xml = junit_xml(run, dir.path());
  std::string path = fs::join(dir.path(), "junit.xml");
  ASSERT_TRUE(fs::write_file(path, xml));
  EXPECT_TRUE(well_formed_xml(path)) << xml;

  EXPECT_NE(xml.find("<testsuite name=\"slipway pipeline hello\" tests=\"4\" failures=\"1\" "
                     "errors=\"0\" skipped=\"1\" time=\"10.000\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase classname=\"pipeline.hello\" name=\"unit\" time=\"5.500\">"),
            std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"unit tests exited with 1\""), std::string::npos);
  EXPECT_NE(xml.find("<skipped message=\"testing does not push\"/>"), std::string::npos);
  EXPECT_EQ(count(xml, "<testcase "), 4);
  // The log is in the failure body, escaped, with terminal colors and control bytes gone.
  EXPECT_NE(xml.find("ok ]]&gt; &lt;b&gt;&amp;amp; &#39;x&#39;"), std::string::npos);
  EXPECT_NE(xml.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(xml.find("\nnul\nred  bare \xef\xbf\xbd\xef\xbf\xbd\n"), std::string::npos) << xml;
  EXPECT_EQ(xml.find('\0'), std::string::npos);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
  EXPECT_EQ(xml.find("<script>"), std::string::npos);

  // A run killed mid-step still yields valid XML; the unfinished step is an error.
  run.steps[2].status = StepStatus::kRunning;
  run.steps[3].status = StepStatus::kPending;
  run.steps[3].message.clear();
  xml = junit_xml(run, dir.path());
  ASSERT_TRUE(fs::write_file(path, xml));
  EXPECT_TRUE(well_formed_xml(path)) << xml;
  EXPECT_NE(xml.find("failures=\"0\" errors=\"1\" skipped=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("<skipped message=\"not run\"/>"), std::string::npos);
}

TEST(RunReportTest, LogTailKeepsTheEndOfBigLogs) {
  TempDir dir("run-report");
  std::string big;
  for (int i = 0; i < 20000; ++i) big += fmt::format("line {} \xc3\xa9t\xc3\xa9\n", i);
  ASSERT_TRUE(fs::write_file(fs::join(dir.path(), "big.log"), big));
  std::string tail = log_tail(dir.path(), "big.log", 1000);
  EXPECT_LE(tail.size(), 1100u);
  EXPECT_TRUE(tail.starts_with("[... first ")) << tail.substr(0, 80);
  EXPECT_TRUE(tail.ends_with("line 19999 \xc3\xa9t\xc3\xa9\n"));
  EXPECT_EQ(tail.find("\xef\xbf\xbd"), std::string::npos);  // no cut character
  // A whole line follows the note, not half of one.
  EXPECT_TRUE(std::regex_search(tail, std::regex("omitted \\.\\.\\.\\]\nline \\d+ ")));
  EXPECT_TRUE(log_tail(dir.path(), "").empty());
  EXPECT_NE(log_tail(dir.path(), "missing.log").find("log unavailable"), std::string::npos);
  EXPECT_NE(log_tail(dir.path(), "../etc/passwd").find("refused"), std::string::npos);
}

TEST(RunReportTest, HtmlHasTimelineAndEscapedLogs) {
  TempDir dir("run-report");
  write_logs(dir.path());
  RunRecord run = sample_run();
  std::string html = html_report(run, dir.path());
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_EQ(html.find("<script"), std::string::npos);  // no JS, and the log's script is escaped
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("Fix &lt;greeting&gt; &amp; &quot;quotes&quot;"), std::string::npos);
  for (const auto& step : run.steps)
    EXPECT_NE(html.find("<code>" + step.name + "</code>"), std::string::npos) << step.name;
  // The failed step's log is open, the others are folded.
  EXPECT_EQ(count(html, "<details open>"), 1);
  EXPECT_EQ(count(html, "<details>"), 3);

  std::regex bar("class=\"bar (\\w+)\" style=\"left:([\\d.]+)%;width:([\\d.]+)%\"");
  double sum = 0;
  int bars = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), bar), end; it != end; ++it, ++bars) {
    double left = std::stod((*it)[2]), width = std::stod((*it)[3]);
    EXPECT_LE(left + width, 100.01);
    sum += width;
  }
  EXPECT_EQ(bars, 3);             // the skipped step has no bar
  EXPECT_NEAR(sum, 100.0, 0.05);  // back-to-back steps fill the run
  EXPECT_NE(html.find("left:45.00%;width:55.00%"), std::string::npos);
}

TEST(RunReportTest, WriteReportsCreatesTheThreeFiles) {
  TempDir dir("run-report");
  std::string run_dir = fs::join(dir.path(), "runs/r1");
  ASSERT_TRUE(fs::make_dirs(run_dir));
  write_logs(run_dir);
  RunRecord run = sample_run();
  ASSERT_TRUE(write_reports(run, run_dir));
  for (const char* name : {"summary.json", "junit.xml", "report.html"})
    EXPECT_TRUE(fs::exists(fs::join(run_dir, name))) << name;
  auto back = parse_summary_json(*fs::read_file(fs::join(run_dir, "summary.json")));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, run);
  EXPECT_TRUE(well_formed_xml(fs::join(run_dir, "junit.xml")));
  auto names = fs::list_dir(run_dir);
  ASSERT_TRUE(names);
  EXPECT_EQ(names->size(), 6u);  // three logs, three reports, no temp files left
}

// Reads everything written so far to a file-backed fd.
std::string contents(const std::string& path) {
  return fs::read_file(path).value_or("");
}

TEST(StepProgressTest, PlainLinesWhenNotATerminal) {
  TempDir dir("step-progress");
  std::string path = fs::join(dir.path(), "out");
  auto fd = fs::open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(fd);
  RunRecord run = sample_run();
  {
    StepProgress progress(fd->get(), false);
    for (const auto& step : run.steps) {
      if (step.status != StepStatus::kSkipped) progress.started(step);
      progress.finished(step);
    }
  }
  EXPECT_EQ(contents(path),
            "checkout: started\ncheckout: ok (0.50 s)\n"
            "build: started\nbuild: ok (4.00 s)\n"
            "unit: started\nunit: FAILED (5.50 s): unit tests exited with 1\n"
            "push: skipped (testing does not push)\n");
}

TEST(StepProgressTest, TerminalRedrawsInPlaceAndStopsAfterFinished) {
  TempDir dir("step-progress");
  std::string path = fs::join(dir.path(), "out");
  auto fd = fs::open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(fd);
  StepRecord unit = sample_run().steps[2];
  StepProgress progress(fd->get(), true);
  progress.started(unit);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  progress.finished(unit);
  std::string out = contents(path);
  EXPECT_GE(count(out, "\r\x1b[K"), 3) << out;  // the first draw, ticks, the final line
  EXPECT_NE(out.find("\r\x1b[K  \xe2\x96\xb8 unit 0.0 s\r\x1b[K  \xe2\x96\xb8 unit 0."),
            std::string::npos)
      << out;
  std::string final_line = render_step_line(unit, true, std::getenv("NO_COLOR") == nullptr);
  EXPECT_NE(final_line.find("\xe2\x9c\x98"), std::string::npos);
  EXPECT_NE(final_line.find("5.50 s  unit tests exited with 1"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\x1b[K" + final_line + "\n")) << out;
  // The ticker is gone: nothing more is written.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(contents(path), out);
}

TEST(StepProgressTest, ParallelStepsShareTheLine) {
  TempDir dir("step-progress");
  std::string path = fs::join(dir.path(), "out");
  auto fd = fs::open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(fd);
  StepRecord a, b;
  a.name = "integration";
  a.status = b.status = StepStatus::kPassed;
  b.name = "live";
  b.duration_ms = 800;
  std::string out;
  {
    StepProgress progress(fd->get(), true);
    progress.started(a);
    progress.started(b);
    progress.finished(b);
    out = contents(path);
    // After b's final line, a is still shown as running.
    std::string b_line = render_step_line(b, true, std::getenv("NO_COLOR") == nullptr);
    std::string redraw = b_line + "\n\r\x1b[K  \xe2\x96\xb8 integration ";
    size_t at = out.find(redraw);
    ASSERT_NE(at, std::string::npos) << out;
    EXPECT_TRUE(std::regex_search(out.substr(at + redraw.size()), std::regex("^\\d+\\.\\d s")));
  }
  // Destroyed with a step still running: the line is ended (ticks may have come in between).
  std::string final_out = contents(path);
  EXPECT_TRUE(final_out.starts_with(out));
  EXPECT_TRUE(final_out.ends_with(" s\n")) << final_out;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(contents(path), final_out);  // and the ticker is stopped
}

}  // namespace
}  // namespace slipway::pipeline
