// libgit2 and libssh2, loaded with dlopen on first use (base/shared_library.h) rather than linked:
// only the pipeline's checkout needs them, and linking them would load some 17 shared libraries
// (mbedTLS, Kerberos, PCRE...) into every `slipway run`, about a millisecond of dynamic loading on
// each container start.
// The function table's types come from the libraries' own headers (decltype), so a signature can
// never drift from what the library exports.
#pragma once

#include <git2.h>
#include <libssh2.h>

#include "base/error.h"

namespace slipway::pipeline {

#define SLIPWAY_LIBGIT2_FUNCTIONS(X) \
  X(git_buf_dispose) \
  X(git_checkout_tree) \
  X(git_commit_free) \
  X(git_commit_id) \
  X(git_commit_lookup) \
  X(git_commit_message) \
  X(git_commit_summary) \
  X(git_commit_time) \
  X(git_credential_default_new) \
  X(git_credential_ssh_key_from_agent) \
  X(git_credential_username_new) \
  X(git_error_last) \
  X(git_error_set_str) \
  X(git_libgit2_init) \
  X(git_libgit2_opts) \
  X(git_libgit2_version) \
  X(git_object_free) \
  X(git_object_peel) \
  X(git_odb_exists) \
  X(git_odb_free) \
  X(git_oid_cpy) \
  X(git_oid_fromstr) \
  X(git_oid_tostr) \
  X(git_reference_free) \
  X(git_reference_lookup) \
  X(git_reference_peel) \
  X(git_reference_symbolic_target) \
  X(git_reference_type) \
  X(git_remote_add_fetch) \
  X(git_remote_connect) \
  X(git_remote_create_anonymous) \
  X(git_remote_create_with_fetchspec) \
  X(git_remote_default_branch) \
  X(git_remote_disconnect) \
  X(git_remote_download) \
  X(git_remote_free) \
  X(git_remote_prune) \
  X(git_remote_update_tips) \
  X(git_repository_free) \
  X(git_repository_init) \
  X(git_repository_init_ext) \
  X(git_repository_odb) \
  X(git_repository_open) \
  X(git_repository_set_head) \
  X(git_repository_set_head_detached) \
  X(git_revparse_single)

#define SLIPWAY_LIBSSH2_FUNCTIONS(X) \
  X(libssh2_knownhost_checkp) \
  X(libssh2_knownhost_free) \
  X(libssh2_knownhost_init) \
  X(libssh2_knownhost_readfile) \
  X(libssh2_session_free) \
  X(libssh2_session_init_ex)

struct GitLibrary {
#define SLIPWAY_GIT_SLOT(name) decltype(&::name) name = nullptr;
  SLIPWAY_LIBGIT2_FUNCTIONS(SLIPWAY_GIT_SLOT)
  SLIPWAY_LIBSSH2_FUNCTIONS(SLIPWAY_GIT_SLOT)
#undef SLIPWAY_GIT_SLOT
};

// The libgit2 this build was compiled against ("libgit2.so.1.5") and the Debian package that
// ships it ("libgit2-1.5").
extern const char* const kLibgit2Soname;
extern const char* const kLibgit2Package;

// Loads kLibgit2Soname and libssh2.so.1 once (thread-safe) and runs git_libgit2_init; the error
// names the library that is missing and the package to install.
Result<const GitLibrary*> load_git();

// The loaded libraries; only valid after load_git() succeeded.
const GitLibrary& git_lib();

}  // namespace slipway::pipeline
