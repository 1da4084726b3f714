// report.html: one self-contained page per run (no script, no external file): header, a timeline
// of the steps, test results, artifacts, and each step's log tail.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "pipeline/report_text.h"
#include "pipeline/run_report.h"

namespace slipway::pipeline {
namespace {

constexpr std::string_view kHtmlStyle = R"(
:root{--fg:#1f2328;--bg:#fff;--muted:#656d76;--line:#d0d7de;--track:#f6f8fa;
--passed:#2da44e;--failed:#cf222e;--skipped:#8c959f;--running:#0969da;--pending:#d0d7de}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8d96a0;
--line:#30363d;--track:#161b22;--pending:#30363d}}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;padding:24px;max-width:1100px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:16px;margin:28px 0 10px}
.badge{display:inline-block;padding:1px 10px;border-radius:12px;color:#fff;font-size:13px;
vertical-align:middle}
.passed{background:var(--passed)}.failed{background:var(--failed)}.skipped{background:var(--skipped)}
.running{background:var(--running)}.pending{background:var(--pending)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.timeline{border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.row{display:grid;grid-template-columns:110px 1fr 190px;gap:12px;align-items:center;height:26px}
.track{position:relative;height:14px;background:var(--track);border-radius:3px}
.bar{position:absolute;top:0;height:100%;border-radius:3px;min-width:2px;overflow:hidden}
.cmd{height:100%;background:rgba(0,0,0,.22)}
.dur{color:var(--muted);white-space:nowrap;font-variant-numeric:tabular-nums}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:12px;
margin-left:122px;margin-right:202px}
details{border:1px solid var(--line);border-radius:6px;margin:8px 0}
summary{cursor:pointer;padding:6px 12px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px}
.msg{color:var(--muted)}
pre{margin:0;padding:10px 12px;border-top:1px solid var(--line);overflow:auto;max-height:600px;
white-space:pre-wrap;overflow-wrap:anywhere}
)";

std::string percent(double v) {
  return fmt::format("{:.2f}", std::clamp(v, 0.0, 100.0));
}

// One timeline row: a bar placed by start offset and sized by duration, both relative to the run.
std::string timeline_row(const StepRecord& step, const RunRecord& run, int64_t span) {
  std::string status(to_string(step.status));
  std::string bar, dur;
  bool started = step.start_unix_ms > 0 && step.status != StepStatus::kPending &&
                 step.status != StepStatus::kSkipped;
  if (started && span > 0) {
    double left = 100.0 * static_cast<double>(step.start_unix_ms - run.start_unix_ms) / span;
    double width = 100.0 * static_cast<double>(step.duration_ms) / span;
    left = std::clamp(left, 0.0, 100.0);
    width = std::clamp(width, 0.0, 100.0 - left);
    std::string title = fmt::format("{} {}", step.name, format_duration(step.duration_ms));
    std::string inner;
    if (step.command_ms >= 0 && step.duration_ms > 0) {
      title += fmt::format(", command {}, overhead {}", format_duration(step.command_ms),
                           format_duration(step.duration_ms - step.command_ms));
      inner = fmt::format("<div class=\"cmd\" style=\"width:{}%\"></div>",
                          percent(100.0 * static_cast<double>(step.command_ms) / step.duration_ms));
    }
    bar = fmt::format("<div class=\"bar {}\" style=\"left:{}%;width:{}%\" title=\"{}\">{}</div>",
                      status, percent(left), percent(width), escape(title, true), inner);
  }
  if (step.status == StepStatus::kSkipped || step.status == StepStatus::kPending) {
    dur = status;
  } else {
    dur = format_duration(step.duration_ms);
    if (step.command_ms >= 0)
      dur += fmt::format(" <span title=\"time in the command\">(cmd {})</span>",
                         format_duration(step.command_ms));
    if (step.status == StepStatus::kRunning) dur += " running";
  }
  return fmt::format(
      "<div class=\"row\"><div class=\"name\"><code>{}</code></div><div class=\"track\">{}</div>"
      "<div class=\"dur\">{}</div></div>\n",
      escape(step.name), bar, dur);
}

std::string log_section(const StepRecord& step, const std::string& run_dir) {
  std::string status(to_string(step.status));
  std::string summary = fmt::format("<span class=\"dot {}\"></span><code>{}</code> &middot; {}",
                                    status, escape(step.name), status);
  if (step.status != StepStatus::kPending && step.status != StepStatus::kSkipped)
    summary += fmt::format(" &middot; {}", format_duration(step.duration_ms));
  if (!step.message.empty())
    summary += fmt::format(" &middot; <span class=\"msg\">{}</span>", escape(step.message));
  std::string log = log_tail(run_dir, step.log_file);
  if (log.empty()) log = step.log_file.empty() ? "(no log)" : "(log is empty)";
  bool open = step.status == StepStatus::kFailed || step.status == StepStatus::kRunning;
  return fmt::format("<details{}><summary>{}</summary><pre>{}</pre></details>\n",
                     open ? " open" : "", summary, escape(log));
}

// A relative link to a file of the run directory: every byte but unreserved ones and '/' is
// percent-encoded, so a file name cannot break out of the attribute or become another scheme.
std::string href(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

// Each step's test counts, and every test that failed with its message and output.
std::string tests_section(const RunRecord& run) {
  std::string out;
  for (const auto& step : run.steps) {
    if (step.tests.empty()) continue;
    TestCounts c = count_tests(step.tests);
    bool bad = c.failures + c.errors > 0;
    out += fmt::format(
        "<details{}><summary><span class=\"dot {}\"></span><code>{}</code> &middot; {} tests, {} failed, {} "
        "errors, {} skipped</summary>\n",
        bad ? " open" : "", bad ? "failed" : "passed", escape(step.name), c.tests, c.failures, c.errors, c.skipped);
    for (const auto& t : step.tests) {
      if (t.status != TestStatus::kFailed && t.status != TestStatus::kError) continue;
      std::string name = t.classname.empty() ? t.name : t.classname + "." + t.name;
      out += fmt::format("<pre><b>{}</b> {}: {}\n{}</pre>\n", escape(name), to_string(t.status), escape(t.message),
                         escape(t.details));
    }
    out += "</details>\n";
  }
  return out.empty() ? out : "<h2>Tests</h2>\n" + out;
}

std::string artifacts_section(const RunRecord& run) {
  std::string out;
  for (const auto& step : run.steps) {
    if (step.artifacts.empty()) continue;
    out += fmt::format("<dt><code>{}</code></dt><dd>", escape(step.name));
    for (const auto& a : step.artifacts) {
      std::string shown = a.substr(a.find('/', a.find('/') + 1) + 1);  // without "artifacts/STEP/"
      out += fmt::format("<a href=\"{}\"><code>{}</code></a><br>", href(a), escape(shown));
    }
    out += "</dd>\n";
  }
  return out.empty() ? out : "<h2>Artifacts</h2>\n<dl>\n" + out + "</dl>\n";
}

}  // namespace

std::string html_report(const RunRecord& run, const std::string& run_dir) {
  std::string status(run_status(run));
  int64_t span = run_span_ms(run);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n";
  out += fmt::format("<title>{} {} &middot; {} &middot; slipway</title>\n", escape(run.app),
                     escape(run.environment), status);
  out += fmt::format("<style>{}</style>\n</head>\n<body>\n<header>\n", kHtmlStyle);
  out += fmt::format("<h1>{} <span class=\"badge {}\">{}</span></h1>\n<dl>\n", escape(run.app),
                     status, status);
  auto item = [&](std::string_view name, const std::string& html) {
    if (!html.empty()) out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", name, html);
  };
  item("environment", escape(run.environment));
  std::string commit = run.commit.empty() ? "" : fmt::format("<code>{}</code>", escape(run.commit));
  if (!run.commit_summary.empty()) commit += fmt::format(" {}", escape(run.commit_summary));
  item("commit", commit);
  item("branch", escape(run.branch));
  item("repository", escape(run.repo));
  item("image", run.image.empty() ? "" : fmt::format("<code>{}</code>", escape(run.image)));
  item("run", run.id.empty() ? "" : fmt::format("<code>{}</code>", escape(run.id)));
  if (run.start_unix_ms > 0) item("started", iso_utc(run.start_unix_ms) + " UTC");
  item("total time", format_duration(span) + (run.finished ? "" : " so far"));
  out += "</dl>\n</header>\n<h2>Timeline</h2>\n<div class=\"timeline\">\n";
  for (const auto& step : run.steps) out += timeline_row(step, run, span);
  out += fmt::format("<div class=\"axis\"><span>0 s</span><span>{}</span></div>\n</div>\n",
                     format_duration(span));
  out += tests_section(run);
  out += artifacts_section(run);
  out += "<h2>Logs</h2>\n";
  for (const auto& step : run.steps) out += log_section(step, run_dir);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace slipway::pipeline
