#include "ebm/experiment/schema.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace ebm::experiment {

namespace {

std::string fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string join_path(const std::string& path, const std::string& key) { return path.empty() ? cut(key) : path + "." + cut(key); }

std::string where(const std::string& path) { return path.empty() ? "(top level)" : path; }

std::vector<std::string> keys_of(const std::vector<Field>& fields) {
  std::vector<std::string> k;
  for (const Field& f : fields) k.push_back(f.key);
  return k;
}

std::string quoted_list(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
  return s;
}

bool in_range(const Node& n, double v) {
  if (n.lo_open ? !(v > n.lo) : !(v >= n.lo)) return false;
  if (n.hi_open ? !(v < n.hi) : !(v <= n.hi)) return false;
  return true;
}

std::string range_phrase(const Node& n) {
  bool has_lo = std::isfinite(n.lo), has_hi = std::isfinite(n.hi);
  if (has_lo && has_hi) return std::string(" in ") + (n.lo_open ? "(" : "[") + fmt(n.lo) + ", " + fmt(n.hi) + (n.hi_open ? ")" : "]");
  if (has_lo) return std::string(n.lo_open ? " > " : " >= ") + fmt(n.lo);
  if (has_hi) return std::string(n.hi_open ? " < " : " <= ") + fmt(n.hi);
  return "";
}

}  // namespace

std::string Node::expectation() const {
  switch (kind) {
    case Kind::number:
    case Kind::integer: {
      std::string noun = kind == Kind::integer ? "integer" : "number";
      if (lo == 0 && lo_open && !std::isfinite(hi)) return "a positive " + noun;
      if (lo == 0 && !lo_open && !std::isfinite(hi)) return "a non-negative " + noun;
      return (kind == Kind::integer ? "an " : "a ") + noun + range_phrase(*this);
    }
    case Kind::boolean: return "true or false";
    case Kind::string: return "a string";
    case Kind::enumeration: return "one of " + quoted_list(choices);
    case Kind::array: {
      std::string s = "an array";
      if (max_items >= 0 && max_items == min_items) s += " of " + std::to_string(min_items);
      else if (min_items > 0) s += " of at least " + std::to_string(min_items);
      return s + (items ? " of " + items->expectation() : "");
    }
    case Kind::object: return "an object";
    case Kind::one_of: return "an object with \"" + discriminator + "\": one of " + quoted_list(keys_of(variants));
    case Kind::any: return "any value";
  }
  return "";
}

Node number(std::string description, std::optional<double> def) {
  Node n;
  n.kind = Node::Kind::number, n.description = std::move(description);
  if (def) n.default_value = *def;
  return n;
}
Node integer(std::string description, std::optional<int64_t> def) {
  Node n;
  n.kind = Node::Kind::integer, n.description = std::move(description);
  if (def) n.default_value = *def;
  return n;
}
Node boolean(std::string description, bool def) {
  Node n;
  n.kind = Node::Kind::boolean, n.description = std::move(description), n.default_value = def;
  return n;
}
Node string(std::string description, std::optional<std::string> def) {
  Node n;
  n.kind = Node::Kind::string, n.description = std::move(description);
  if (def) n.default_value = *def;
  return n;
}
Node enumeration(std::string description, std::vector<std::string> choices, std::optional<std::string> def) {
  Node n;
  n.kind = Node::Kind::enumeration, n.description = std::move(description), n.choices = std::move(choices);
  if (def) n.default_value = *def;
  return n;
}
Node array_of(std::string description, Node items, std::optional<json> def) {
  Node n;
  n.kind = Node::Kind::array, n.description = std::move(description);
  n.items = std::make_shared<const Node>(std::move(items));
  if (def) n.default_value = *def;
  return n;
}
Node object(std::string description, std::vector<Field> fields) {
  Node n;
  n.kind = Node::Kind::object, n.description = std::move(description), n.fields = std::move(fields);
  n.default_value = json::object();
  return n;
}
Node one_of(std::string description, std::string discriminator, std::vector<Field> variants, std::optional<std::string> def) {
  Node n;
  n.kind = Node::Kind::one_of, n.description = std::move(description);
  n.discriminator = std::move(discriminator), n.variants = std::move(variants);
  if (def) n.default_value = json{{n.discriminator, *def}};
  return n;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  if (word.size() > kMaxEchoChars) return "";  // no name is that long; and edit distance is quadratic
  std::string best;
  double best_d = 2.5;
  for (const std::string& c : candidates) {
    double d = static_cast<double>(edit_distance(word, c));
    // A prefix either way ("lr" vs "lr_schedule") is a good guess, but a real one-letter typo is a better one
    // ("stepsize" is "step_size", not "steps").
    bool prefix = word.size() >= 2 && (c.rfind(word, 0) == 0 || word.rfind(c, 0) == 0);
    if (prefix) d = std::min(d, 1.5);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

namespace {
// Appends value's JSON text to `out` until it holds `budget` characters; true when the whole value fit.
bool render(const json& value, std::string& out, size_t budget) {
  if (out.size() > budget) return false;
  if (value.is_object() || value.is_array()) {
    const bool obj = value.is_object();
    out += obj ? '{' : '[';
    bool first = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!first) out += ", ";
      first = false;
      if (obj) {
        if (!render(json(it.key()), out, budget)) return false;
        out += ": ";
      }
      if (!render(*it, out, budget)) return false;
    }
    out += obj ? '}' : ']';
  } else if (value.is_string()) {
    const std::string& str = value.get_ref<const std::string&>();
    if (str.size() > budget) {  // never copy (or escape) more of a huge string than is shown
      out += json(str.substr(0, budget)).dump();
      return false;
    }
    out += value.dump();
  } else {
    out += value.dump();
  }
  return out.size() <= budget;
}
}  // namespace

std::string cut(const std::string& text, size_t most) {
  if (text.size() <= most) return text;
  return text.substr(0, most - 3) + "... (" + std::to_string(text.size()) + " characters)";
}

std::string brief(const json& value) {
  std::string s;
  if (render(value, s, kMaxEchoChars)) return s;
  s.resize(std::min(s.size(), kMaxEchoChars - 3));
  s += "...";
  if (value.is_string()) s += " (a string of " + std::to_string(value.get_ref<const std::string&>().size()) + " characters)";
  else if (value.is_structured()) s += " (" + std::to_string(value.size()) + (value.is_object() ? " keys)" : " elements)");
  return s;
}

json parse_limited(const std::string& text) {
  if (text.size() > kMaxConfigBytes)
    throw std::invalid_argument("is " + std::to_string(text.size()) + " bytes; experiment JSON is limited to " +
                                std::to_string(kMaxConfigBytes >> 20) + " MiB");
  // The parser calls back on every event with the nesting depth. Each open object keeps the keys seen so far,
  // and the path to it, for the message.
  struct Open {
    bool object;
    std::vector<std::string> keys;
    std::string path;
  };
  std::vector<Open> open;
  std::string pending;  // the key whose value is being parsed
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start: {
        if (depth >= kMaxJsonDepth)
          throw std::invalid_argument("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels" +
                                      (open.empty() ? std::string() : " under " + (open.back().path.empty() ? std::string("the top level") : cut(open.back().path))));
        std::string path = open.empty() ? "" : open.back().object ? join_path(open.back().path, pending) : open.back().path + "[]";
        open.push_back({event == E::object_start, {}, std::move(path)});
        break;
      }
      case E::object_end:
      case E::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case E::key: {
        pending = parsed.get<std::string>();
        auto& keys = open.back().keys;
        if (std::find(keys.begin(), keys.end(), pending) != keys.end())
          throw std::invalid_argument(join_path(open.back().path, pending) + ": duplicate key (each key may appear once)");
        keys.push_back(pending);
        break;
      }
      case E::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text, callback);
  } catch (const json::exception& e) {
    // parse_error (syntax) and out_of_range (a number beyond double range): the library's own words, without its
    // "[json.exception...]" prefix.
    std::string what = e.what();
    const size_t at = what.find("] ");
    throw std::invalid_argument("invalid JSON: " + cut(at == std::string::npos ? what : what.substr(at + 2), 200));
  }
}

namespace {

json validate_object(const json& in, const std::vector<Field>& fields, const std::string& skip_key,
                     std::vector<std::string>& errors, const std::string& path) {
  json out = json::object();
  if (!skip_key.empty() && in.contains(skip_key)) out[skip_key] = in[skip_key];
  std::vector<std::string> known = keys_of(fields);
  if (!skip_key.empty()) known.push_back(skip_key);
  for (auto it = in.begin(); it != in.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
    std::string msg = join_path(path, it.key()) + ": unknown key";
    std::string guess = did_you_mean(it.key(), known);
    if (!guess.empty()) msg += " (did you mean \"" + guess + "\"?)";
    else msg += " (known keys: " + quoted_list(known) + ")";
    errors.push_back(msg);
  }
  for (const Field& f : fields) {
    std::string p = join_path(path, f.key);
    if (in.contains(f.key)) {
      out[f.key] = validate(in[f.key], f.node, errors, p);
    } else if (f.node.default_value) {
      // Defaults are themselves validated so nested objects get their own defaults filled in.
      out[f.key] = validate(*f.node.default_value, f.node, errors, p);
    } else {
      errors.push_back(p + ": required key is missing (expected " + f.node.expectation() + ")");
    }
  }
  return out;
}

}  // namespace

json validate(const json& in, const Node& n, std::vector<std::string>& errors, const std::string& path) {
  auto bad = [&](const std::string& what) {
    errors.push_back(where(path) + ": expected " + what + ", got " + brief(in));
    return in;
  };
  if (in.is_null() && n.nullable) return in;
  switch (n.kind) {
    case Node::Kind::any: return in;
    case Node::Kind::number:
    case Node::Kind::integer: {
      if (!in.is_number()) return bad(n.expectation());
      double v = in.get<double>();
      if (n.kind == Node::Kind::integer && !in.is_number_integer()) {
        // 1e3 is a fine way to write 1000 in JSON; 2.5 is not an integer.
        if (std::floor(v) != v || std::fabs(v) > 9.0e15) return bad(n.expectation());
        json as_int = static_cast<int64_t>(v);
        return in_range(n, v) ? as_int : bad(n.expectation());
      }
      if (!std::isfinite(v) || !in_range(n, v)) return bad(n.expectation());
      return in;
    }
    case Node::Kind::boolean: return in.is_boolean() ? in : bad(n.expectation());
    case Node::Kind::string: return in.is_string() ? in : bad(n.expectation());
    case Node::Kind::enumeration: {
      if (!in.is_string()) return bad(n.expectation());
      std::string s = in.get<std::string>();
      if (std::find(n.choices.begin(), n.choices.end(), s) != n.choices.end()) return in;
      std::string guess = did_you_mean(s, n.choices);
      errors.push_back(where(path) + ": expected " + n.expectation() + ", got " + brief(in) +
                       (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)"));
      return in;
    }
    case Node::Kind::array: {
      if (!in.is_array()) return bad(n.expectation());
      int64_t size = static_cast<int64_t>(in.size());
      if (size < n.min_items || (n.max_items >= 0 && size > n.max_items)) return bad(n.expectation());
      json out = json::array();
      for (size_t i = 0; i < in.size(); ++i) out.push_back(validate(in[i], *n.items, errors, path + "[" + std::to_string(i) + "]"));
      return out;
    }
    case Node::Kind::object:
      if (!in.is_object()) return bad(n.expectation());
      return validate_object(in, n.fields, "", errors, path);
    case Node::Kind::one_of: {
      if (!in.is_object()) return bad(n.expectation());
      std::string dpath = join_path(path, n.discriminator);
      if (!in.contains(n.discriminator)) {
        errors.push_back(dpath + ": required key is missing (expected one of " + quoted_list(keys_of(n.variants)) + ")");
        return in;
      }
      const json& d = in[n.discriminator];
      std::string name = d.is_string() ? d.get<std::string>() : "";
      for (const Field& v : n.variants)
        if (v.key == name) return validate_object(in, v.node.fields, n.discriminator, errors, path);
      std::string guess = d.is_string() ? did_you_mean(name, keys_of(n.variants)) : "";
      errors.push_back(dpath + ": expected one of " + quoted_list(keys_of(n.variants)) + ", got " + brief(d) +
                       (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)"));
      return in;
    }
  }
  return in;
}

json to_json_schema(const Node& n, bool root) {
  json s = json::object();
  if (root) s["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  if (!n.description.empty()) s["description"] = n.description;
  auto with_null = [&](json type) { return n.nullable ? json::array({std::move(type), "null"}) : type; };
  switch (n.kind) {
    case Node::Kind::any: break;
    case Node::Kind::number:
    case Node::Kind::integer:
      s["type"] = with_null(n.kind == Node::Kind::integer ? "integer" : "number");
      if (std::isfinite(n.lo)) s[n.lo_open ? "exclusiveMinimum" : "minimum"] = n.lo;
      if (std::isfinite(n.hi)) s[n.hi_open ? "exclusiveMaximum" : "maximum"] = n.hi;
      break;
    case Node::Kind::boolean: s["type"] = with_null("boolean"); break;
    case Node::Kind::string: s["type"] = with_null("string"); break;
    case Node::Kind::enumeration: s["enum"] = n.choices; break;
    case Node::Kind::array:
      s["type"] = with_null("array");
      s["items"] = to_json_schema(*n.items, false);
      if (n.min_items > 0) s["minItems"] = n.min_items;
      if (n.max_items >= 0) s["maxItems"] = n.max_items;
      break;
    case Node::Kind::object: {
      s["type"] = "object";
      s["additionalProperties"] = false;
      json props = json::object(), req = json::array();
      for (const Field& f : n.fields) {
        props[f.key] = to_json_schema(f.node, false);
        if (!f.node.default_value) req.push_back(f.key);
      }
      s["properties"] = props;
      if (!req.empty()) s["required"] = req;
      break;
    }
    case Node::Kind::one_of: {
      json alts = json::array();
      for (const Field& v : n.variants) {
        Node obj = v.node;
        obj.description = v.node.description;
        json a = to_json_schema(obj, false);
        a["properties"][n.discriminator] = json{{"const", v.key}};
        json req = a.contains("required") ? a["required"] : json::array();
        req.push_back(n.discriminator);
        a["required"] = req;
        alts.push_back(a);
      }
      s["oneOf"] = alts;
      break;
    }
  }
  if (n.default_value && n.kind != Node::Kind::object) s["default"] = *n.default_value;
  return s;
}

void apply_set(json& config, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("--set " + cut(assignment) + ": expected path.to.key=value");
  // Every key and string of a config ends up in config.json, and JSON text is UTF-8: a byte string from a shell in
  // another encoding (--set output.dir=caf\xe9) would otherwise be taken here and fail only when written.
  try {
    (void)json(assignment).dump();
  } catch (const json::type_error&) {
    throw std::invalid_argument("--set " + cut(assignment) + ": not valid UTF-8 (keys and values must be, as in JSON)");
  }
  std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  try {
    value = parse_limited(text);
  } catch (const std::invalid_argument& e) {
    // Bare words are strings (--set data.type=rings); text that starts like JSON but breaks its rules is an error.
    if (std::string(e.what()).rfind("invalid JSON", 0) != 0 || text.find_first_of("[{") == 0)
      throw std::invalid_argument("--set " + cut(assignment) + ": " + e.what());
    value = text;
  }
  json* node = &config;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw std::invalid_argument("--set " + cut(assignment) + ": empty key in path \"" + cut(path) + "\"");
    if (!node->is_object()) throw std::invalid_argument("--set " + cut(assignment) + ": \"" + cut(path.substr(0, start ? start - 1 : 0)) + "\" is not an object");
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    if (!node->contains(key)) (*node)[key] = json::object();
    node = &(*node)[key];
    start = dot + 1;
  }
}

}  // namespace ebm::experiment
