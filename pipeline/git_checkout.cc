#include "pipeline/git_checkout.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "base/file_lock.h"
#include "base/fs.h"
#include "base/scope_exit.h"
#include "oci/digest.h"
#include "pipeline/git_library.h"

namespace slipway::pipeline {

namespace {

// Frees a libgit2 object with the loaded library's function in slot Free of GitLibrary.
template <class T, auto Free>
struct GitDeleter {
  void operator()(T* p) const { (git_lib().*Free)(p); }
};
using RepoPtr = std::unique_ptr<git_repository, GitDeleter<git_repository, &GitLibrary::git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitDeleter<git_remote, &GitLibrary::git_remote_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitDeleter<git_object, &GitLibrary::git_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitDeleter<git_commit, &GitLibrary::git_commit_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitDeleter<git_reference, &GitLibrary::git_reference_free>>;

constexpr std::string_view kCaBundle = "/etc/ssl/certs/ca-certificates.crt";

Status init_libgit2() {
  SLW_TRY(load_git());
  static std::once_flag once;
  std::call_once(once, [] {
    // slipway runs as root on checkouts owned by users (like git's safe.directory); libgit2 runs
    // no hooks or fsmonitor from the source repository, so the ownership check only gets in the
    // way.
    git_lib().git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
    // libgit2's mbedTLS backend has no CA store of its own; use the system one (or SSL_CERT_FILE).
    const char* env_ca = std::getenv("SSL_CERT_FILE");
    std::string ca = env_ca && *env_ca ? env_ca : std::string(kCaBundle);
    if (fs::exists(ca)) git_lib().git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca.c_str(), nullptr);
  });
  return {};
}

// The libgit2 error of the call that just failed, as one line with context in front.
std::unexpected<Error> git_fail(std::string_view what) {
  const git_error* e = git_lib().git_error_last();
  std::string message = e && e->message ? e->message : "unknown libgit2 error";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  return fail("{}: {}", what, message);
}

std::string oid_hex(const git_oid& oid) {
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_lib().git_oid_tostr(hex, sizeof hex, &oid);
  return hex;
}

bool is_full_hex_id(std::string_view rev) {
  if (rev.size() != GIT_OID_HEXSZ) return false;
  for (char c : rev) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Where a repository lives: a URL libgit2 understands, and whether it is on this host.
struct RepoLocation {
  std::string url;  // absolute path for local repositories, else the URL as given
  bool local = false;
  int ssh_port = 22;
};

Result<RepoLocation> locate(const std::string& repo) {
  if (repo.empty()) return fail("no repository given");
  std::string path;
  if (repo.starts_with("file://")) {
    path = repo.substr(7);
    if (path.starts_with("localhost/")) path = path.substr(9);
    if (!path.starts_with("/")) return fail("file URL {} has no absolute path", repo);
  } else if (repo.find("://") != std::string::npos) {
    RepoLocation loc{repo, false, 22};
    if (repo.starts_with("ssh://")) {
      // ssh://[user@]host[:port]/path: known_hosts keeps non-22 ports as "[host]:port".
      std::string_view authority = std::string_view(repo).substr(6);
      authority = authority.substr(0, authority.find('/'));
      if (auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
      auto colon = authority.rfind(':');
      if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        loc.ssh_port = std::atoi(std::string(authority.substr(colon + 1)).c_str());
        if (loc.ssh_port <= 0) loc.ssh_port = 22;
      }
    }
    return loc;
  } else if (auto colon = repo.find(':');
             colon != std::string::npos && repo.find('/') > colon && colon > 1) {
    return RepoLocation{repo, false, 22};  // scp-like user@host:path, as git reads it
  } else {
    path = repo;
  }
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return fail("repository {}: {}", repo, ec.message());
  std::string normal = abs.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  if (!fs::exists(normal)) return fail("repository {} does not exist", normal);
  return RepoLocation{normal, true, 22};
}

std::string cache_key(const RepoLocation& loc) {
  return oci::sha256_digest(loc.url).substr(oci::kSha256Prefix.size(), 16);
}

// Callback state for one connection: stops libgit2 from asking for the same credential forever.
struct RemoteState {
  int ssh_port = 22;
  int credential_attempts = 0;
};

int credentials_cb(git_credential** out, const char* /*url*/, const char* username_from_url,
                   unsigned int allowed_types, void* payload) {
  auto* state = static_cast<RemoteState*>(payload);
  if (++state->credential_attempts > 2) {
    git_lib().git_error_set_str(GIT_ERROR_NET, "authentication failed (ssh-agent or default credentials)");
    return GIT_EAUTH;
  }
  const char* user = username_from_url && *username_from_url ? username_from_url : "git";
  if (allowed_types & GIT_CREDENTIAL_SSH_KEY) return git_lib().git_credential_ssh_key_from_agent(out, user);
  if (allowed_types & GIT_CREDENTIAL_USERNAME) return git_lib().git_credential_username_new(out, user);
  if (allowed_types & GIT_CREDENTIAL_DEFAULT) return git_lib().git_credential_default_new(out);
  return GIT_PASSTHROUGH;
}

// libgit2 1.5 accepts any ssh host key unless told otherwise; check it against known_hosts like
// ssh with StrictHostKeyChecking=yes (a CI host cannot answer a prompt).
int certificate_check_cb(git_cert* cert, int /*valid*/, const char* host, void* payload) {
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;  // TLS: libgit2 decides
  auto* hostkey = reinterpret_cast<git_cert_hostkey*>(cert);
  if (!(hostkey->type & GIT_CERT_SSH_RAW)) {
    git_lib().git_error_set_str(GIT_ERROR_SSH, "ssh server sent no host key to check");
    return -1;
  }
  LIBSSH2_SESSION* session = git_lib().libssh2_session_init_ex(nullptr, nullptr, nullptr, nullptr);
  if (!session) {
    git_lib().git_error_set_str(GIT_ERROR_SSH, "cannot allocate a libssh2 session");
    return -1;
  }
  ScopeExit free_session([&] { git_lib().libssh2_session_free(session); });
  LIBSSH2_KNOWNHOSTS* known = git_lib().libssh2_knownhost_init(session);
  if (!known) {
    git_lib().git_error_set_str(GIT_ERROR_SSH, "cannot allocate known_hosts");
    return -1;
  }
  ScopeExit free_known([&] { git_lib().libssh2_knownhost_free(known); });
  std::string files[2] = {"", "/etc/ssh/ssh_known_hosts"};
  if (const char* home = std::getenv("HOME"); home && *home)
    files[0] = fs::join(home, ".ssh/known_hosts");
  for (const auto& file : files) {
    if (!file.empty() && fs::exists(file))
      git_lib().libssh2_knownhost_readfile(known, file.c_str(), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
  }
  int port = static_cast<RemoteState*>(payload)->ssh_port;
  libssh2_knownhost* found = nullptr;
  int rc =
      git_lib().libssh2_knownhost_checkp(known, host, port, hostkey->hostkey, hostkey->hostkey_len,
                               LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW, &found);
  if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH) return 0;
  std::string message =
      rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH
          ? fmt::format("host key of {} does not match known_hosts", host)
          : fmt::format(
                "host {} is not in ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts "
                "(add it with ssh-keyscan)",
                host);
  git_lib().git_error_set_str(GIT_ERROR_SSH, message.c_str());
  return -1;
}

git_remote_callbacks remote_callbacks(RemoteState* state) {
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  callbacks.credentials = credentials_cb;
  callbacks.certificate_check = certificate_check_cb;
  callbacks.payload = state;
  return callbacks;
}

// Fetches every branch and tag of the repository into the mirror, pruning what the remote deleted.
// Returns the remote HEAD's branch ("refs/heads/main"), or "" when the remote has none. An
// anonymous remote with explicit refspecs: looking "origin" up in the mirror's config leaks about
// 20 kB per call in libgit2 1.5 (its regexp matcher), which a `pipeline watch` polling for days
// would feel.
Result<std::string> fetch_mirror(git_repository* mirror, const RepoLocation& loc) {
  git_remote* raw_remote = nullptr;
  if (git_lib().git_remote_create_anonymous(&raw_remote, mirror, loc.url.c_str()) < 0)
    return git_fail("set up remote");
  RemotePtr remote(raw_remote);
  char heads[] = "+refs/heads/*:refs/heads/*";
  char tags[] = "+refs/tags/*:refs/tags/*";
  char* specs[] = {heads, tags};
  git_strarray refspecs{specs, 2};
  RemoteState state{loc.ssh_port, 0};
  git_remote_callbacks callbacks = remote_callbacks(&state);
  if (git_lib().git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &callbacks, nullptr, nullptr) < 0)
    return git_fail("connect");
  ScopeExit disconnect([&] { git_lib().git_remote_disconnect(remote.get()); });

  std::string head_branch;
  git_buf buf = GIT_BUF_INIT;
  int rc = git_lib().git_remote_default_branch(&buf, remote.get());
  if (rc == 0) head_branch = buf.ptr;
  git_lib().git_buf_dispose(&buf);
  if (rc < 0 && rc != GIT_ENOTFOUND) return git_fail("read remote HEAD");

  git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
  options.callbacks = callbacks;
  options.prune = GIT_FETCH_PRUNE;
  options.update_fetchhead = 0;  // concurrent fetches would fight over FETCH_HEAD for nothing
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // the tag refspec fetches them all
  if (git_lib().git_remote_download(remote.get(), &refspecs, &options) < 0) return git_fail("download");
  if (git_lib().git_remote_update_tips(remote.get(), &callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, nullptr) <
      0)
    return git_fail("update refs");
  if (git_lib().git_remote_prune(remote.get(), &callbacks) < 0) return git_fail("prune refs");

  // Mirror HEAD follows the remote's, so "HEAD" and the default branch resolve offline too.
  if (!head_branch.empty()) {
    git_reference* ref = nullptr;
    if (git_lib().git_reference_lookup(&ref, mirror, head_branch.c_str()) == 0) {
      git_lib().git_reference_free(ref);
      if (git_lib().git_repository_set_head(mirror, head_branch.c_str()) < 0) return git_fail("set HEAD");
    }
  }
  return head_branch;
}

Result<RepoPtr> open_repo(const std::string& path, std::string_view what) {
  git_repository* raw = nullptr;
  if (git_lib().git_repository_open(&raw, path.c_str()) < 0)
    return git_fail(fmt::format("{} {}", what, path));
  return RepoPtr(raw);
}

// A locked, up-to-date mirror. The lock is held while refs are read: a concurrent fetch may
// prune them. Objects never go away (nothing runs gc on a mirror), so reading them needs no lock.
struct Mirror {
  FileLock lock;
  RepoPtr repo;
  std::string path;
  std::string head_branch;  // remote HEAD's branch as "refs/heads/x"; "" if unknown or not fetched
};

// What a fetch killed half-way leaves in a mirror: libgit2 writes refs, packed-refs, HEAD and
// config through NAME.lock files and packs through pack_git2_* / tmp_pack_* temp files. Only the
// holder of the mirror's lock writes it, so under that lock every such file is stale.
Result<std::vector<std::string>> remove_partial_files_of(const std::string& mirror) {
  std::vector<std::string> removed;
  auto is_partial = [](const std::string& name) {
    return name.ends_with(".lock") || name.starts_with("pack_git2_") ||
           name.starts_with("tmp_pack_");
  };
  auto sweep = [&](const std::string& dir, bool recursive) -> Status {
    std::error_code ec;
    std::vector<std::filesystem::path> found;
    if (recursive) {
      for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && is_partial(it->path().filename().string()))
          found.push_back(it->path());
    } else {
      for (auto it = std::filesystem::directory_iterator(dir, ec);
           !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && is_partial(it->path().filename().string()))
          found.push_back(it->path());
    }
    if (ec && ec != std::errc::no_such_file_or_directory)
      return fail("clean up {}: {}", dir, ec.message());
    for (const auto& path : found) {
      if (::unlink(path.c_str()) < 0 && errno != ENOENT)
        return fail_errno(fmt::format("remove {}", path.string()));
      removed.push_back(
          path.lexically_relative(std::filesystem::path(mirror).parent_path()).string());
    }
    return {};
  };
  SLW_TRY(sweep(mirror, false));
  SLW_TRY(sweep(fs::join(mirror, "refs"), true));
  SLW_TRY(sweep(fs::join(mirror, "objects/pack"), false));
  return removed;
}

// First use clones into a temporary directory renamed into place once the fetch succeeded, so a
// mirror that exists is always complete. A full commit id already in the mirror skips the fetch:
// it names the same tree forever.
Result<Mirror> update_mirror(const RepoLocation& loc, const std::string& repo,
                             const std::string& cache_dir, std::string_view known_commit) {
  SLW_TRY_CTX(fs::make_dirs(cache_dir), "create checkout cache {}", cache_dir);
  std::string key = cache_key(loc);
  Mirror mirror;
  mirror.path = fs::join(cache_dir, key + ".git");
  mirror.lock =
      SLW_TRY(FileLock::acquire(fs::join(cache_dir, key + ".lock"), FileLock::Mode::kExclusive));
  if (fs::exists(mirror.path)) {
    // A fetch killed half-way must not fail this one ("failed to lock file ...").
    SLW_TRY_CTX(remove_partial_files_of(mirror.path), "mirror of {}", repo);
    mirror.repo = SLW_TRY(open_repo(mirror.path, "open mirror"));
    if (!known_commit.empty()) {
      git_oid oid;
      git_odb* odb = nullptr;
      if (git_lib().git_oid_fromstr(&oid, std::string(known_commit).c_str()) == 0 &&
          git_lib().git_repository_odb(&odb, mirror.repo.get()) == 0) {
        bool have = git_lib().git_odb_exists(odb, &oid);
        git_lib().git_odb_free(odb);
        if (have) return mirror;
      }
    }
    mirror.head_branch = SLW_TRY_CTX(fetch_mirror(mirror.repo.get(), loc), "fetch {}", repo);
    return mirror;
  }

  std::string tmp = mirror.path + ".tmp";
  SLW_TRY(fs::remove_tree(tmp));  // left by a process that died while cloning (we hold the lock)
  ScopeExit remove_tmp([&] { (void)fs::remove_tree(tmp); });
  {
    git_repository* raw = nullptr;
    if (git_lib().git_repository_init(&raw, tmp.c_str(), 1) < 0)
      return git_fail(fmt::format("create mirror {}", tmp));
    RepoPtr fresh(raw);
    git_remote* raw_remote = nullptr;
    if (git_lib().git_remote_create_with_fetchspec(&raw_remote, fresh.get(), "origin", loc.url.c_str(),
                                         "+refs/heads/*:refs/heads/*") < 0)
      return git_fail(fmt::format("clone {}", repo));
    git_lib().git_remote_free(raw_remote);
    if (git_lib().git_remote_add_fetch(fresh.get(), "origin", "+refs/tags/*:refs/tags/*") < 0)
      return git_fail(fmt::format("clone {}", repo));
    mirror.head_branch = SLW_TRY_CTX(fetch_mirror(fresh.get(), loc), "clone {}", repo);
  }
  if (::rename(tmp.c_str(), mirror.path.c_str()) < 0)
    return fail_errno(fmt::format("rename {} to {}", tmp, mirror.path));
  remove_tmp.release();
  mirror.repo = SLW_TRY(open_repo(mirror.path, "open mirror"));
  return mirror;
}

// The branch to use when none was asked for: the remote HEAD's, else what the mirror's HEAD says.
Result<std::string> default_branch(const Mirror& mirror, const std::string& repo) {
  std::string ref = mirror.head_branch;
  if (ref.empty()) {
    git_reference* head = nullptr;
    if (git_lib().git_reference_lookup(&head, mirror.repo.get(), "HEAD") == 0) {
      if (git_lib().git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
        ref = git_lib().git_reference_symbolic_target(head);
      git_lib().git_reference_free(head);
    }
  }
  if (!ref.starts_with("refs/heads/"))
    return fail("{} has no default branch (empty repository?)", repo);
  return ref.substr(11);
}

Result<CommitPtr> branch_commit(git_repository* mirror, const std::string& branch,
                                const std::string& repo) {
  git_reference* raw = nullptr;
  std::string name = "refs/heads/" + branch;
  int rc = git_lib().git_reference_lookup(&raw, mirror, name.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
    return fail("unknown branch \"{}\" in {}", branch, repo);
  if (rc < 0) return git_fail(fmt::format("look up branch {} in {}", branch, repo));
  ReferencePtr ref(raw);
  git_object* peeled = nullptr;
  if (git_lib().git_reference_peel(&peeled, ref.get(), GIT_OBJECT_COMMIT) < 0)
    return git_fail(fmt::format("branch {} in {}", branch, repo));
  return CommitPtr(reinterpret_cast<git_commit*>(peeled));
}

Result<CommitPtr> rev_commit(git_repository* mirror, const std::string& rev,
                             const std::string& repo) {
  git_object* raw = nullptr;
  int rc = git_lib().git_revparse_single(&raw, mirror, rev.c_str());
  if (rc == GIT_ENOTFOUND) return fail("unknown revision \"{}\" in {}", rev, repo);
  if (rc == GIT_EAMBIGUOUS) return fail("ambiguous revision \"{}\" in {}", rev, repo);
  if (rc < 0) return git_fail(fmt::format("revision \"{}\" in {}", rev, repo));
  ObjectPtr object(raw);
  git_object* peeled = nullptr;
  if (git_lib().git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) < 0)
    return fail("revision \"{}\" in {} is not a commit", rev, repo);
  return CommitPtr(reinterpret_cast<git_commit*>(peeled));
}

// Checking out over someone's files would mix two trees.
Status check_worktree_empty(const std::string& worktree) {
  if (!fs::is_dir(worktree)) return fail("worktree {} exists and is not a directory", worktree);
  auto entries = SLW_TRY_CTX(fs::list_dir(worktree), "worktree {}", worktree);
  if (!entries.empty()) return fail("worktree {} exists and is not empty", worktree);
  return {};
}

// A repository in the worktree that borrows the mirror's objects (like `git clone --shared`): no
// object is copied, and HEAD is detached at the commit so git commands work inside it.
Status check_out_into(const std::string& worktree, const std::string& mirror_path,
                      const git_oid& oid) {
  git_repository_init_options init = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  init.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
  git_repository* raw = nullptr;
  if (git_lib().git_repository_init_ext(&raw, worktree.c_str(), &init) < 0) return git_fail("init");
  git_lib().git_repository_free(raw);
  std::string alternates = fs::join(worktree, ".git/objects/info/alternates");
  SLW_TRY(fs::make_dirs(fs::join(worktree, ".git/objects/info")));
  SLW_TRY(fs::write_file(alternates, fs::join(mirror_path, "objects") + "\n"));
  RepoPtr repo = SLW_TRY(open_repo(worktree, "open"));

  git_commit* raw_commit = nullptr;
  if (git_lib().git_commit_lookup(&raw_commit, repo.get(), &oid) < 0) return git_fail("find commit");
  CommitPtr commit(raw_commit);
  git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
  options.checkout_strategy = GIT_CHECKOUT_FORCE;
  if (git_lib().git_checkout_tree(repo.get(), reinterpret_cast<git_object*>(commit.get()), &options) < 0)
    return git_fail("check out tree");
  if (git_lib().git_repository_set_head_detached(repo.get(), &oid) < 0) return git_fail("set HEAD");
  return {};
}

}  // namespace

Result<std::string> mirror_path(const std::string& repo, const std::string& cache_dir) {
  RepoLocation loc = SLW_TRY(locate(repo));
  return fs::join(cache_dir, cache_key(loc) + ".git");
}

Result<CheckoutResult> checkout(const CheckoutRequest& request) {
  SLW_TRY(init_libgit2());
  if (request.worktree.empty()) return fail("checkout {}: no worktree given", request.repo);
  if (request.cache_dir.empty()) return fail("checkout {}: no cache directory given", request.repo);
  RepoLocation loc = SLW_TRY(locate(request.repo));
  const std::string& repo = loc.url;

  // Checked before fetching so a wrong worktree fails fast; created only once the commit is known.
  if (fs::exists(request.worktree)) SLW_TRY(check_worktree_empty(request.worktree));

  CheckoutResult result;
  result.worktree = request.worktree;
  git_oid oid;
  std::string mirror_dir;
  {
    std::string_view known = is_full_hex_id(request.rev) ? std::string_view(request.rev) : "";
    Mirror mirror = SLW_TRY(update_mirror(loc, repo, request.cache_dir, known));
    CommitPtr commit;
    if (!request.rev.empty()) {
      commit = SLW_TRY(rev_commit(mirror.repo.get(), request.rev, repo));
      result.branch = request.branch;
      git_reference* tag = nullptr;
      std::string tag_ref = "refs/tags/" + request.rev;
      if (git_lib().git_reference_lookup(&tag, mirror.repo.get(), tag_ref.c_str()) == 0) {
        git_lib().git_reference_free(tag);
        result.tag = request.rev;
      }
    } else {
      result.branch =
          request.branch.empty() ? SLW_TRY(default_branch(mirror, repo)) : request.branch;
      commit = SLW_TRY(branch_commit(mirror.repo.get(), result.branch, repo));
    }
    git_lib().git_oid_cpy(&oid, git_lib().git_commit_id(commit.get()));
    result.commit = oid_hex(oid);
    result.commit_time = git_lib().git_commit_time(commit.get());
    const char* summary = git_lib().git_commit_summary(commit.get());
    result.summary = summary ? summary : "";
    const char* message = git_lib().git_commit_message(commit.get());
    result.message = message ? message : "";
    while (result.message.ends_with('\n')) result.message.pop_back();  // git ends it with one
    mirror_dir = mirror.path;
  }  // the mirror lock is dropped here: the checkout only reads objects

  bool existed = fs::exists(request.worktree);
  if (existed) {
    SLW_TRY(check_worktree_empty(request.worktree));
  } else {
    SLW_TRY_CTX(fs::make_dirs(request.worktree), "create worktree {}", request.worktree);
  }
  ScopeExit undo([&] {
    (void)fs::remove_tree(request.worktree);
    if (existed) (void)fs::make_dirs(request.worktree);
  });
  SLW_TRY_CTX(check_out_into(request.worktree, mirror_dir, oid), "check out {} of {} into {}",
              result.commit.substr(0, 12), repo, request.worktree);
  undo.release();
  return result;
}

Result<std::vector<std::string>> remove_partial_mirror_files(const std::string& cache_dir) {
  std::vector<std::string> removed;
  auto names = fs::list_dir(cache_dir);
  if (!names) return removed;  // no pipeline ran here yet
  for (const auto& name : *names) {
    bool clone = name.ends_with(".git.tmp");
    if (!clone && !name.ends_with(".git")) continue;
    std::string key = name.substr(0, name.size() - (clone ? 8 : 4));
    std::string lock_path = fs::join(cache_dir, key + ".lock");
    auto lock_fd = fs::open_file(lock_path, O_RDWR);
    if (!lock_fd) continue;  // not a mirror of ours
    auto lock = SLW_TRY(
        FileLock::try_acquire_fd(std::move(*lock_fd), FileLock::Mode::kExclusive, lock_path));
    if (!lock) continue;  // a fetch or clone is running
    if (clone) {
      SLW_TRY(fs::remove_tree(fs::join(cache_dir, name)));
      removed.push_back(name);
    } else {
      for (auto& f : SLW_TRY(remove_partial_files_of(fs::join(cache_dir, name))))
        removed.push_back(std::move(f));
    }
  }
  return removed;
}

Result<std::string> resolve_branch_head(const std::string& repo_arg, const std::string& branch,
                                        const std::string& cache_dir) {
  SLW_TRY(init_libgit2());
  if (cache_dir.empty()) return fail("resolve {}: no cache directory given", repo_arg);
  RepoLocation loc = SLW_TRY(locate(repo_arg));
  Mirror mirror = SLW_TRY(update_mirror(loc, loc.url, cache_dir, ""));
  std::string name = branch.empty() ? SLW_TRY(default_branch(mirror, loc.url)) : branch;
  CommitPtr commit = SLW_TRY(branch_commit(mirror.repo.get(), name, loc.url));
  return oid_hex(*git_lib().git_commit_id(commit.get()));
}

}  // namespace slipway::pipeline
