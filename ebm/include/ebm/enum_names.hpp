#pragma once
// The names of an enum's values, written once as a table next to the enum ({"tanh", Activation::tanh}, ...):
// to_string, parsing, the config schema's list of choices and the error that lists them all come from that
// table, so a value added to the enum is added to every one of them in one line.
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ebm {

template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

/// The names in table order.
template <class E, std::size_t N>
std::vector<std::string> enum_names(const EnumName<E> (&table)[N]) {
  std::vector<std::string> out;
  for (const EnumName<E>& e : table) out.emplace_back(e.name);
  return out;
}

/// "a, b, c": the names for a message.
template <class E, std::size_t N>
std::string enum_name_list(const EnumName<E> (&table)[N]) {
  std::string out;
  for (const EnumName<E>& e : table) out += (out.empty() ? "" : ", ") + std::string(e.name);
  return out;
}

/// The name of `v`; std::logic_error when the table lacks it (a value added to the enum but not to its table).
template <class E, std::size_t N>
std::string_view enum_name(const EnumName<E> (&table)[N], E v) {
  for (const EnumName<E>& e : table)
    if (e.value == v) return e.name;
  throw std::logic_error("enum value without a name");
}

/// The value named `name`, if any.
template <class E, std::size_t N>
std::optional<E> enum_value(const EnumName<E> (&table)[N], std::string_view name) {
  for (const EnumName<E>& e : table)
    if (e.name == name) return e.value;
  return std::nullopt;
}

/// The value named `name`; std::invalid_argument "unknown <what> '<name>' (a, b, c)" otherwise.
template <class E, std::size_t N>
E parse_enum(const EnumName<E> (&table)[N], std::string_view name, std::string_view what) {
  if (std::optional<E> v = enum_value(table, name)) return *v;
  throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(name) + "' (" + enum_name_list(table) + ")");
}

}  // namespace ebm
