// Where a command's time goes, step by step. With SLIPWAY_STEP_CLOCK set (to anything but empty
// or 0), each mark("label") writes one line "step-clock PID MS label" to stderr, MS being the
// milliseconds since main() began (microsecond precision); a cloned container child marks its
// own steps on the same clock. scripts/bench-run --steps turns these lines into the breakdown in
// the README. Off, a mark costs one load and a branch.
#pragma once

namespace slipway::step_clock {

// Reads SLIPWAY_STEP_CLOCK; the clock's zero is this call. Called first thing in main().
void start_from_env();

// Async-signal-safe (clock_gettime, a stack buffer and write(2)): a cloned child may call it up
// to the moment it closes its inherited descriptors. label: a short literal.
void mark(const char* label);

// Stops the clock in a forked process that outlives the command (a detached supervisor): its copy
// of the caller's stderr would keep a pipe reading that stderr open long after the command ended.
void stop();

}  // namespace slipway::step_clock
