#pragma once
// A small declarative schema for experiment files: every object lists its keys with a type, a default, a range
// and a description. One schema drives three things, so they can never disagree:
//   - validation: fills defaults and collects *all* errors as "json.path: expected ..., got ..." (unknown keys get
//     a "did you mean" suggestion), so a user fixes a file in one round instead of one error per run;
//   - the resolved config written to the run directory (every default made explicit, so reruns reproduce);
//   - `ebm schema`, which prints it as JSON Schema (draft 2020-12) for editors.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebm::experiment {

using json = nlohmann::ordered_json;

struct Field;

struct Node {
  enum class Kind { number, integer, boolean, string, enumeration, array, object, one_of, any };
  Kind kind = Kind::any;
  std::string description;
  std::optional<json> default_value;  // nullopt: the key is required (objects and one-ofs default to {} / their default)
  // Numeric range; open bounds express "positive" (> 0) without a magic epsilon.
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  std::vector<std::string> choices;     // enumeration
  std::shared_ptr<const Node> items;    // array element schema
  int64_t min_items = 0, max_items = -1;  // array length bounds (-1: unbounded)
  std::vector<Field> fields;            // object keys, in display order
  std::string discriminator = "type";   // one_of: the key naming the variant
  std::vector<Field> variants;          // one_of: variant name -> object schema (without the discriminator key)
  bool nullable = false;                // null is accepted (means "automatic")

  // Fluent modifiers, so schemas read like a table.
  Node&& positive() && { lo = 0, lo_open = true; return std::move(*this); }
  Node&& non_negative() && { lo = 0; return std::move(*this); }
  Node&& range(double a, double b) && { lo = a, hi = b; return std::move(*this); }
  Node&& at_least(double a) && { lo = a; return std::move(*this); }
  Node&& below(double b) && { hi = b, hi_open = true; return std::move(*this); }
  Node&& items_between(int64_t a, int64_t b) && { min_items = a, max_items = b; return std::move(*this); }
  /// null is accepted too (meaning "automatic"); it becomes the default when there was none.
  Node&& or_null() && {
    nullable = true;
    if (!default_value) default_value = nullptr;
    return std::move(*this);
  }
  Node&& required() && { default_value.reset(); return std::move(*this); }

  /// "a positive number", "an integer >= 1", "one of \"a\", \"b\"": the phrase used in error messages.
  std::string expectation() const;
};

struct Field {
  std::string key;
  Node node;
};

// Constructors of schema nodes. `def` is the default; pass std::nullopt for a required key.
Node number(std::string description, std::optional<double> def);
Node integer(std::string description, std::optional<int64_t> def);
Node boolean(std::string description, bool def);
Node string(std::string description, std::optional<std::string> def);
Node enumeration(std::string description, std::vector<std::string> choices, std::optional<std::string> def);
Node array_of(std::string description, Node items, std::optional<json> def);
Node object(std::string description, std::vector<Field> fields);
/// Variants selected by the `discriminator` key; `def` names the default variant (nullopt: the object is required).
Node one_of(std::string description, std::string discriminator, std::vector<Field> variants, std::optional<std::string> def);

/// Validates `in` against `schema`, returning a copy with every default filled in. Errors are appended to
/// `errors` (never thrown), each "path: message", so all of them can be reported at once.
json validate(const json& in, const Node& schema, std::vector<std::string>& errors, const std::string& path = "");

/// The schema as a JSON Schema (draft 2020-12) document.
json to_json_schema(const Node& schema, bool root = true);

/// Levenshtein distance (for "did you mean").
size_t edit_distance(const std::string& a, const std::string& b);
/// The closest candidate to `word` (edit distance <= 2, or a prefix either way), or "" if none is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// Note [Input limits]: what an experiment file (or a --set value) may be, checked before anything else reads it, so
// that bad input is refused with exit 2 and a message of bounded size, never a crash or a flood:
//   - at most kMaxConfigBytes bytes;
//   - nesting at most kMaxJsonDepth levels (deeper JSON would recurse in every later dump or walk);
//   - no key twice in one object (with duplicates, which one wins is the parser's choice, not the user's);
//   - numbers within double range (1e999 is refused, not turned into infinity).
// In messages, keys and values are cut to about kMaxEchoChars characters, with their full length given.
inline constexpr size_t kMaxConfigBytes = 16 << 20;
inline constexpr int kMaxJsonDepth = 64;
inline constexpr size_t kMaxEchoChars = 60;

/// Parses JSON text under Note [Input limits]; throws std::invalid_argument with the reason (and the JSON path of
/// a duplicate key) otherwise.
json parse_limited(const std::string& text);

/// `text` itself when short, else its first characters, "...", and its length.
std::string cut(const std::string& text, size_t most = kMaxEchoChars);

/// Applies a `--set a.b.c=value` override: value is parsed as JSON if it parses, else taken as a string.
/// Intermediate objects are created as needed. Throws std::invalid_argument on a malformed assignment.
void apply_set(json& config, const std::string& assignment);

/// A short human rendering of a JSON value for messages (strings quoted, long values elided with their size), in
/// time proportional to what it shows, however large the value.
std::string brief(const json& value);

}  // namespace ebm::experiment
