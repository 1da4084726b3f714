// The record of one pipeline run and the reports made from it: summary.json (for `pipeline show`
// and gc), junit.xml (for Jenkins and GitLab) and report.html (one self-contained page for people).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::pipeline {

enum class StepStatus { kPending, kRunning, kPassed, kFailed, kSkipped };

enum class TestStatus { kPassed, kFailed, kError, kSkipped };

// One test case of a step's JUnit report.
struct TestCaseRecord {
  std::string suite;  // its <testsuite name>
  std::string classname;
  std::string name;
  double seconds = 0;
  TestStatus status = TestStatus::kPassed;
  std::string message;  // of the failure, error or skip
  std::string details;  // the failure's text, cut to a few kB

  bool operator==(const TestCaseRecord&) const = default;
};

struct TestCounts {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
};
TestCounts count_tests(const std::vector<TestCaseRecord>& tests);

struct StepRecord {
  std::string name;  // checkout, build, unit, integration, deploy, live, push
  StepStatus status = StepStatus::kPending;
  int64_t start_unix_ms = 0;  // wall clock at start
  int64_t duration_ms = 0;
  // Time spent in the user's own command (test run), -1 if none; overhead = duration - command.
  int64_t command_ms = -1;
  int exit_code = -1;    // the user command's exit status, -1 if none
  std::string message;   // one-line reason on failure or skip ("unit tests exited with 1")
  std::string log_file;  // relative to the run directory, e.g. "unit.log"; empty if none
  std::vector<std::string> artifacts = {};  // files kept, relative to the run directory
  std::vector<TestCaseRecord> tests = {};   // from its JUnit reports

  bool operator==(const StepRecord&) const = default;
};

struct RunRecord {
  std::string id;
  std::string app, environment, repo, branch, commit, commit_summary, image;
  int64_t start_unix_ms = 0, duration_ms = 0;
  bool passed = false;  // meaningful once finished
  bool finished = false;
  std::vector<StepRecord> steps;

  bool operator==(const RunRecord&) const = default;
};

// The whole run's span: its duration, or longer if a step outlasts it (a run still going on).
int64_t run_span_ms(const RunRecord& run);
// "running", "passed" or "failed".
std::string_view run_status(const RunRecord& run);

// "passed", "failed", "error", "skipped".
std::string_view to_string(TestStatus status);

// "pending", "running", "passed", "failed", "skipped".
std::string_view to_string(StepStatus status);
Result<StepStatus> parse_step_status(std::string_view text);

// "0.40 s", "12.35 s", "2m 05s", "1h 02m": short and ASCII, for terminals and reports alike.
std::string format_duration(int64_t ms);

// Pretty JSON with a stable key order; steps with a command also carry overhead_ms.
std::string summary_json(const RunRecord& run);
// Reads what summary_json wrote; derived keys (overhead_ms, started_at) are ignored.
Result<RunRecord> parse_summary_json(std::string_view text);

// One <testsuite> with one <testcase> per step (failed steps carry the tail of their log), then
// one <testsuite> per suite of each step's JUnit reports, named "STEP: SUITE".
std::string junit_xml(const RunRecord& run, const std::string& run_dir);
// One self-contained HTML page: header, timeline of the steps, test results with each failed
// test, artifacts, and each step's log tail.
std::string html_report(const RunRecord& run, const std::string& run_dir);

// Writes summary.json, junit.xml and report.html into run_dir, each atomically, so a run killed at
// any moment still leaves valid reports of the steps so far. Safe to call from several threads.
Status write_reports(const RunRecord& run, const std::string& run_dir);

// The last `max_bytes` of run_dir/log_file made safe for XML and HTML text: valid UTF-8, terminal
// escape sequences and control characters (except \t \n \r) removed, a cut line dropped.
std::string log_tail(const std::string& run_dir, const std::string& log_file,
                     size_t max_bytes = 64 * 1024);

}  // namespace slipway::pipeline
