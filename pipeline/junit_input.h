// JUnit XML reports that a step's tests wrote (pytest --junitxml, ctest --output-junit, go-junit-
// report, Maven surefire, unittest-xml-reporting...): <testsuites> or <testsuite> at the root,
// suites nested or not, parsed with libxml2. A report comes from a container: no DTD is allowed,
// no entity is expanded, nothing is fetched, and its size and test count are bounded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "pipeline/run_report.h"

namespace slipway::pipeline {

inline constexpr size_t kMaxJunitReportBytes = 16 << 20;
inline constexpr size_t kMaxTestCases = 100000;

// `name` is how errors name the report (its path in the workspace).
Result<std::vector<TestCaseRecord>> parse_junit_report(std::string_view xml, const std::string& name);

}  // namespace slipway::pipeline
