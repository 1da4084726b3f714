// Libraries loaded with dlopen on first use rather than linked (libcurl for the registry client,
// libgit2 and libssh2 for the pipeline's checkout): linking them would load dozens of shared
// libraries into every `slipway run`, milliseconds of start-up on each container, for commands
// that never use them. A loaded library stays loaded for the life of the process.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway {

class SharedLibrary {
 public:
  // dlopen(soname, RTLD_NOW | RTLD_LOCAL); the error names the Debian package that provides it.
  static Result<SharedLibrary> open(const char* soname, std::string_view package);

  // Points `slot` at the function `name`; the error names the library and the symbol.
  template <class F>
  Status bind(const char* name, F& slot) const {
    void* sym = SLW_TRY(symbol(name));
    slot = reinterpret_cast<F>(sym);
    return {};
  }

 private:
  SharedLibrary(void* handle, const char* soname) : handle_(handle), soname_(soname) {}
  Result<void*> symbol(const char* name) const;

  void* handle_;
  const char* soname_;
};

// A table of a library's functions, filled by the first load() (thread-safe); every later call
// gets the same table, or the same error when the library was missing.
template <class Table>
class LibraryTable {
 public:
  template <class Fill>
  Result<const Table*> load(Fill&& fill) {
    std::call_once(once_, [&] { status_ = fill(table_); });
    if (!status_) return std::unexpected(status_.error());
    return &table_;
  }
  // The table; only valid after load() succeeded.
  const Table& get() const { return table_; }

 private:
  std::once_flag once_;
  Status status_;
  Table table_{};
};

}  // namespace slipway
