// Error and Result: every fallible function returns Result<T>; context is prepended at each level
// so the user sees one line: "step unit: start container abc: mount overlay on X: No such device".
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace slipway {

// The few failures a caller acts on rather than prints; context keeps the kind.
enum class ErrorKind {
  kOther,
  kCommandNotFound,       // the container's command does not exist (Docker's exit code 127)
  kCommandNotExecutable,  // it exists but cannot be executed (126)
};

class Error {
 public:
  Error() = default;
  Error(int code, std::string message, ErrorKind kind = ErrorKind::kOther)
      : code_(code), kind_(kind), message_(std::move(message)) {}

  // errno of the failing call, 0 when the failure was not a system call.
  int code() const { return code_; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // Returns this error with "what: " in front of the message.
  Error context(std::string_view what) const& {
    return Error(code_, fmt::format("{}: {}", what, message_), kind_);
  }
  Error context(std::string_view what) && {
    message_.insert(0, fmt::format("{}: ", what));
    return std::move(*this);
  }

 private:
  int code_ = 0;
  ErrorKind kind_ = ErrorKind::kOther;
  std::string message_;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected<Error>(Error(0, std::move(message)));
}

template <class... Args>
std::unexpected<Error> fail(fmt::format_string<Args...> f, Args&&... args) {
  return fail(fmt::format(f, std::forward<Args>(args)...));
}

// "what: strerror(code)" with the code kept for callers that branch on it.
std::unexpected<Error> fail_errno(std::string_view what, int code = errno);

// Adds context to the error of a Result without touching its value.
template <class T>
Result<T> with_context(Result<T> r, std::string_view what) {
  if (!r) return std::unexpected(std::move(r.error()).context(what));
  return r;
}

}  // namespace slipway

// Evaluates a Result expression; returns its error from the enclosing function, else yields its value.
#define SLW_TRY(expr)                                                      \
  ({                                                                       \
    auto slw_try_result_ = (expr);                                         \
    if (!slw_try_result_.has_value()) [[unlikely]]                         \
      return std::unexpected(std::move(slw_try_result_).error());          \
    std::move(slw_try_result_).value();                                    \
  })

// Like SLW_TRY, with context prepended to the error: SLW_TRY_CTX(f(), "open {}", path).
#define SLW_TRY_CTX(expr, ...)                                             \
  ({                                                                       \
    auto slw_try_result_ = (expr);                                         \
    if (!slw_try_result_.has_value()) [[unlikely]]                         \
      return std::unexpected(                                              \
          std::move(slw_try_result_).error().context(fmt::format(__VA_ARGS__))); \
    std::move(slw_try_result_).value();                                    \
  })
