// Text for the run reports: whatever a step printed or a test report said must come out as text
// any XML or HTML parser accepts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace slipway::pipeline {

// Valid UTF-8 (bad bytes become U+FFFD), terminal escapes dropped, and no control characters
// other than tab, newline and carriage return.
std::string clean_text(std::string_view s);
// clean_text, then escaped for XML and HTML alike; in attributes, whitespace is kept as character
// references because attribute-value normalization would otherwise turn newlines into spaces.
std::string escape(std::string_view raw, bool attribute = false);
// Milliseconds as seconds with three decimals ("1.250"), as JUnit's time attributes.
std::string seconds(int64_t ms);
// "2024-05-01T12:00:00" in UTC, as JUnit's timestamp attribute wants it (no zone suffix).
std::string iso_utc(int64_t unix_ms);

}  // namespace slipway::pipeline
