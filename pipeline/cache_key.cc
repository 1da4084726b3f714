#include "pipeline/cache_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "base/fs.h"
#include "oci/digest.h"
#include "pipeline/variables.h"

namespace slipway::pipeline {
namespace {

constexpr size_t kMaxKeyLength = 100;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The file a `{{ checksum "FILE" }}` names (the text between the braces given).
Result<std::string> checksum_file(std::string_view directive) {
  std::string_view d = trim(directive);
  constexpr std::string_view kWord = "checksum";
  if (!d.starts_with(kWord)) return fail("cache key: unknown {{{{ {} }}}}: want {{{{ checksum \"FILE\" }}}}", d);
  d = trim(d.substr(kWord.size()));
  if (d.size() < 3 || d.front() != '"' || d.back() != '"' || d.substr(1, d.size() - 2).find('"') != d.npos)
    return fail("cache key: checksum wants one quoted file name, as {{{{ checksum \"package-lock.json\" }}}}");
  return std::string(d.substr(1, d.size() - 2));
}

}  // namespace

Result<std::string> expand_cache_key(std::string_view key, const std::map<std::string, std::string>& vars,
                                     const FileChecksum& checksum) {
  std::string out;
  while (!key.empty()) {
    size_t open = key.find("{{");
    out += SLW_TRY(interpolate(key.substr(0, open), vars));
    if (open == key.npos) break;
    size_t close = key.find("}}", open);
    if (close == key.npos) return fail("cache key: unterminated {{");
    std::string file = SLW_TRY(interpolate(SLW_TRY(checksum_file(key.substr(open + 2, close - open - 2))), vars));
    out += SLW_TRY(checksum(file));
    key.remove_prefix(close + 2);
  }
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  if (out.size() > kMaxKeyLength || out == "." || out == ".." || out.empty())
    out = std::string(*oci::digest_hex(oci::sha256_digest(out)));
  return out;
}

Status check_cache_key(std::string_view key) {
  static const std::map<std::string, std::string> kEveryName = [] {
    RunFacts facts;
    facts.commit.branch = facts.commit.tag = "x";
    return with_job(ci_variables(facts), "x");
  }();
  SLW_TRY(expand_cache_key(key, kEveryName, [](const std::string&) -> Result<std::string> { return "0"; }));
  return {};
}

FileChecksum workspace_checksum(const std::string& root) {
  return [root](const std::string& file) -> Result<std::string> {
    // O_NONBLOCK: a FIFO a step left there must not hang the runner.
    UniqueFd fd = SLW_TRY_CTX(fs::open_in_root(root, file, O_RDONLY | O_CLOEXEC | O_NONBLOCK),
                              "cache key: checksum {}", file);
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode))
      return fail("cache key: checksum {}: not a regular file", file);
    oci::Sha256 hash;
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno(fmt::format("cache key: checksum {}", file));
      if (n == 0) break;
      hash.update(buf, static_cast<size_t>(n));
    }
    std::string digest = hash.finish();
    return std::string(SLW_TRY(oci::digest_hex(digest)).substr(0, 16));
  };
}

}  // namespace slipway::pipeline
