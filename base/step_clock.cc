#include "base/step_clock.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace slipway::step_clock {
namespace {

int out_fd = -1;  // a close-on-exec copy of stderr: a container's stdio set up later leaves it be
int64_t zero_ns = 0;

int64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Writes the decimal digits of v (>= 0) into the bytes before `end`, at least min_digits of them,
// and returns where they start.
char* digits_before(char* end, int64_t v, int min_digits) {
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 || end - p < min_digits);
  return p;
}

}  // namespace

void start_from_env() {
  const char* v = std::getenv("SLIPWAY_STEP_CLOCK");
  if (!v || !*v || std::strcmp(v, "0") == 0) return;
  zero_ns = now_ns();
  out_fd = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
}

void mark(const char* label) {
  if (out_fd < 0) return;
  int64_t us = (now_ns() - zero_ns) / 1000;
  char line[160];
  char* end = line + 48;  // numbers are written backwards, ending here
  char* p = digits_before(end, us % 1000, 3);
  *--p = '.';
  p = digits_before(p, us / 1000, 1);
  *--p = ' ';
  p = digits_before(p, ::getpid(), 1);
  static constexpr char kPrefix[] = "step-clock ";
  p -= sizeof kPrefix - 1;
  std::memcpy(p, kPrefix, sizeof kPrefix - 1);
  char* q = end;
  *q++ = ' ';
  size_t n = std::min(std::strlen(label), static_cast<size_t>(line + sizeof line - 1 - q));
  std::memcpy(q, label, n);
  q += n;
  *q++ = '\n';
  (void)!::write(out_fd, p, static_cast<size_t>(q - p));
}

void stop() {
  if (out_fd >= 0) ::close(out_fd);
  out_fd = -1;
}

}  // namespace slipway::step_clock
