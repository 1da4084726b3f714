// Progress of blob transfers: on a terminal, one bar per blob redrawn in place; in logs and CI,
// one plain line per finished blob.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace slipway::oci {

class TransferProgress {
 public:
  virtual ~TransferProgress() = default;
  // A blob transfer starts; label names it (a short digest), action says what happens to it.
  // Returns the transfer's id for update and end. Thread-safe: several transfers may run at once,
  // each in its own thread.
  virtual int begin(std::string_view label, std::string_view action, int64_t total) = 0;
  virtual void update(int id, int64_t done) = 0;
  // The blob is finished: "Pushed", "Exists", "Mounted", "Pulled", "Failed".
  virtual void end(int id, std::string_view outcome) = 0;
};

// Bars on fd, which should be a terminal: one line per transfer, all redrawn in place at most ten
// times a second.
std::unique_ptr<TransferProgress> terminal_progress(int fd);
// One line per finished blob on fd: "3f2a1b0c9d8e: Pulled 23.6MB".
std::unique_ptr<TransferProgress> line_progress(int fd);

// "3f2a1b0c9d8e: Pushing [=========>          ]  23.6MB/47.2MB" with a bar `bar_width` wide.
std::string render_progress(std::string_view label, std::string_view action, int64_t done,
                            int64_t total, int bar_width = 30);

// Docker's decimal sizes: "527B", "23.6MB".
std::string human_bytes(int64_t bytes);

}  // namespace slipway::oci
