// The subset of Go's text/template that CI scripts pass to `docker inspect --format` and
// `docker ps --format`, over JSON values: text and actions, `{{- ` / ` -}}` trimming, field paths
// (`.`, `.A.B`, `$`, `$.A`), string and integer literals, pipes (`{{.X | json}}`), `{{if}}` and
// `{{range}}` with `{{else}}` and `{{end}}`, and the functions json, index, len, lower, upper,
// join, split, println, not, and, or, eq, ne, lt, le, gt and ge. Values print as Go prints them: `[a b]` for lists, `map[k:v]` for
// objects, `<nil>` for null. A field that does not exist is an error naming it, as it is for
// Docker's structs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace slipway {

class GoTemplate {
 public:
  // The error says what is wrong and where ("template: unexpected {{end}}").
  static Result<GoTemplate> parse(std::string_view text);
  Result<std::string> render(const nlohmann::json& data) const;

  struct Node;
  GoTemplate(GoTemplate&&) noexcept;
  GoTemplate& operator=(GoTemplate&&) noexcept;
  ~GoTemplate();

 private:
  explicit GoTemplate(std::unique_ptr<Node> root);
  std::unique_ptr<Node> root_;
};

// Go's default printing of a value: strings as they are, lists "[a b]", objects "map[k:v]".
std::string go_print(const nlohmann::json& value);

}  // namespace slipway
