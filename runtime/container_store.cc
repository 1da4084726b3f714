#include "runtime/container_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>

#include "base/byte_json.h"
#include "base/clock_text.h"
#include "base/fs.h"
#include "runtime/spec_json.h"

namespace slipway::runtime {

using nlohmann::json;

std::string_view to_string(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::kCreated: return "created";
    case ContainerStatus::kRunning: return "running";
    case ContainerStatus::kRestarting: return "restarting";
    case ContainerStatus::kExited: return "exited";
  }
  return "unknown";
}

uint64_t process_start_time(pid_t pid) {
  if (pid <= 0) return 0;
  auto stat = fs::read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) return 0;
  // Field 22; the command name (field 2) may hold spaces, so count from its closing paren.
  auto paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size()) return 0;
  // A zombie (Z) or dying (X) process has exited: its pid only waits for a reaper.
  char state = (*stat)[paren + 2];
  if (state == 'Z' || state == 'X') return 0;
  size_t pos = paren + 2;
  for (int field = 3; field < 22 && pos != std::string::npos; ++field) pos = stat->find(' ', pos) + 1;
  return std::strtoull(stat->c_str() + pos, nullptr, 10);
}

bool process_alive(pid_t pid, uint64_t start_time) {
  return pid > 0 && start_time != 0 && process_start_time(pid) == start_time;
}

std::string now_rfc3339() { return slipway::now_rfc3339(); }

Result<ContainerStore> ContainerStore::open(const std::string& root) {
  std::string dir = fs::join(root, "containers");
  SLW_TRY_CTX(fs::make_dirs(fs::join(dir, "names"), 0700), "open container store {}", root);
  return ContainerStore(dir);
}

std::string ContainerStore::dir(const std::string& id) const { return fs::join(containers_, id); }

// Where this process fills a record before create renames it to its id, and where remove puts it
// before deleting it: what a killed create or remove leaves carries the pid that tells gc.
static std::string hidden_dir(const std::string& containers, const std::string& id) {
  return fs::join(containers, fmt::format(".{}.{}", id, ::getpid()));
}

static bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

Result<ContainerRecord> ContainerStore::create(ContainerRecord record) {
  if (!valid_name(record.name))
    return fail("invalid container name \"{}\": use letters, digits, '_', '.', '-'", record.name);
  // The record is complete before its name points at it: a name link whose record is missing
  // is then always a leftover (a create or remove that was killed), and may be taken over.
  std::string d = dir(record.id), staging = hidden_dir(containers_, record.id);
  if (::mkdir(staging.c_str(), 0700) < 0)
    return fail_errno(fmt::format("create container dir {}", staging));
  if (record.created.empty()) record.created = now_rfc3339();
  record.creator_pid = ::getpid();
  record.creator_start_time = process_start_time(record.creator_pid);
  if (auto st = fs::write_file_atomic(fs::join(staging, "config.json"),
                                      dump_byte_safe(json(record)), 0600, false);
      !st) {
    (void)fs::remove_tree(staging);
    return std::unexpected(st.error());
  }
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, d.c_str(), RENAME_NOREPLACE) < 0) {
    int e = errno;
    (void)fs::remove_tree(staging);
    return fail_errno(fmt::format("create container dir {}", d), e);
  }
  if (auto st = reserve_name(record); !st) {
    if (::rename(d.c_str(), staging.c_str()) == 0) (void)fs::remove_tree(staging);
    return std::unexpected(st.error());
  }
  return record;
}

Status ContainerStore::reserve_name(const ContainerRecord& record) const {
  std::string names = fs::join(containers_, "names");
  std::string name_link = fs::join(names, record.name);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::symlink(record.id.c_str(), name_link.c_str()) == 0) return {};
    if (errno != EEXIST) return fail_errno(fmt::format("reserve container name {}", record.name));
    auto owner = find(record.name);
    if (owner) {
      return fail("container name \"{}\" is already in use by container {}", record.name,
                  owner->id.substr(0, 12));
    }
    // A leftover link: take it over under the names lock, so that two creators cannot both.
    UniqueFd lock = SLW_TRY(fs::open_file(names, O_RDONLY | O_DIRECTORY));
    if (::flock(lock.get(), LOCK_EX) < 0) return fail_errno("lock container names");
    char target[128];
    ssize_t n = ::readlink(name_link.c_str(), target, sizeof target - 1);
    if (n > 0 && !fs::exists(fs::join(dir(std::string(target, n)), "config.json")))
      ::unlink(name_link.c_str());
  }
  return fail("container name \"{}\" is already in use", record.name);
}

static Result<ContainerRecord> read_record(const std::string& dir) {
  std::string text = SLW_TRY(fs::read_file(fs::join(dir, "config.json")));
  try {
    json doc = json::parse(text);
    decode_byte_strings(doc);
    return doc.get<ContainerRecord>();
  } catch (const json::exception& e) {
    return fail("{}/config.json: {}", dir, e.what());
  }
}

Result<ContainerRecord> ContainerStore::find(std::string_view name_or_id) const {
  std::string key(name_or_id);
  if (key.empty()) return fail("empty container name");
  if (key.find('/') == std::string::npos && key != "." && key != "..") {
    char target[128];
    std::string link = fs::join(fs::join(containers_, "names"), key);
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0) return read_record(dir(std::string(target, n)));
    if (key.size() == 64 && fs::exists(dir(key))) return read_record(dir(key));
  }
  auto ids = SLW_TRY(fs::list_dir(containers_));
  std::string match;
  for (const auto& id : ids) {
    if (id == "names" || id.starts_with(".") || !id.starts_with(key)) continue;
    if (!match.empty()) return fail("container id prefix \"{}\" is ambiguous", key);
    match = id;
  }
  if (match.empty()) return fail("no such container: {}", key);
  return read_record(dir(match));
}

Result<std::vector<ContainerRecord>> ContainerStore::list() const {
  std::vector<ContainerRecord> out;
  for (const auto& id : SLW_TRY(fs::list_dir(containers_))) {
    if (id == "names" || id.starts_with(".")) continue;  // being created or removed
    auto r = read_record(dir(id));
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

Status ContainerStore::save_state(const std::string& id, const ContainerState& state) const {
  return fs::write_file_atomic(fs::join(dir(id), "state.json"), dump_byte_safe(json(state)), 0600, false);
}

Result<ContainerState> ContainerStore::load_state(const std::string& id) const {
  auto text = fs::read_file(fs::join(dir(id), "state.json"));
  if (!text) return ContainerState{};  // created, never started
  try {
    json doc = json::parse(*text);
    decode_byte_strings(doc);
    return doc.get<ContainerState>();
  } catch (const json::exception& e) {
    return fail("{}/state.json: {}", dir(id), e.what());
  }
}

Status ContainerStore::save_health(const std::string& id, const HealthState& health) const {
  return fs::write_file_atomic(fs::join(dir(id), "health.json"), dump_byte_safe(json(health)), 0600, false);
}

std::optional<HealthState> ContainerStore::load_health(const std::string& id) const {
  auto text = fs::read_file(fs::join(dir(id), "health.json"));
  if (!text) return std::nullopt;
  try {
    json doc = json::parse(*text);
    decode_byte_strings(doc);
    return doc.get<HealthState>();
  } catch (const json::exception&) {
    return std::nullopt;  // being replaced; the next read sees the new file
  }
}

Status ContainerStore::mark_stop_requested(const std::string& id) const {
  std::string path = fs::join(dir(id), "stop-requested");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail_errno(fmt::format("mark container {} stopped", id.substr(0, 12)));
  ::close(fd);
  return {};
}

void ContainerStore::clear_stop_requested(const std::string& id) const {
  ::unlink(fs::join(dir(id), "stop-requested").c_str());
}

bool ContainerStore::stop_requested(const std::string& id) const {
  return fs::exists(fs::join(dir(id), "stop-requested"));
}

Result<ContainerState> ContainerStore::current_state(const std::string& id) const {
  auto gone = [](const ContainerState& s) {
    bool supervised = s.status == ContainerStatus::kRunning || s.status == ContainerStatus::kRestarting;
    return supervised && !process_alive(s.pid, s.pid_start_time) &&
           !process_alive(s.supervisor_pid, s.supervisor_start_time);
  };
  ContainerState s = SLW_TRY(load_state(id));
  if (gone(s)) s = SLW_TRY(load_state(id));
  if (gone(s)) {
    s.status = ContainerStatus::kExited;
    s.exit_code = 137;
    s.error = "the runtime that supervised it was killed";
  }
  s.health = load_health(id);
  return s;
}

Status ContainerStore::remove(const ContainerRecord& record) const {
  std::string name_link = fs::join(fs::join(containers_, "names"), record.name);
  char target[128];
  ssize_t n = ::readlink(name_link.c_str(), target, sizeof target - 1);
  if (n > 0 && std::string_view(target, n) == record.id) ::unlink(name_link.c_str());
  std::string what = fmt::format("remove container {}", record.id.substr(0, 12));
  if (!record.data_dir.empty()) SLW_TRY_CTX(fs::remove_tree(record.data_dir), "{}", what);
  // Out of sight first: a remove killed half-way must not leave a record dir without a record.
  std::string doomed = hidden_dir(containers_, record.id);
  if (::rename(dir(record.id).c_str(), doomed.c_str()) < 0) {
    if (errno == ENOENT) return {};  // removed by someone else (an --rm supervisor, gc)
    return fail_errno(what);
  }
  return with_context(fs::remove_tree(doomed), what);
}

Result<std::vector<std::string>> ContainerStore::remove_partial_records() const {
  std::vector<std::string> removed;
  for (const auto& name : SLW_TRY(fs::list_dir(containers_))) {
    if (!name.starts_with(".") || !fs::process_gone(fs::pid_after_mark(name.substr(1), ".")))
      continue;
    SLW_TRY_CTX(fs::remove_tree(fs::join(containers_, name)), "gc {}", name);
    removed.push_back(name);
  }
  return removed;
}

}  // namespace slipway::runtime
