#pragma once
// Config fields whose value names an enum value: the schema's choices and the parser both read the enum's name
// table (ebm/enum_names.hpp), so the two cannot list different names.
#include <string>

#include "ebm/enum_names.hpp"
#include "ebm/experiment/registry.hpp"

namespace ebm::experiment {

/// An enumeration node whose choices are the table's names, in table order; `def` is the default.
template <class E, std::size_t N>
Node enum_field(const EnumName<E> (&table)[N], std::string description, E def) {
  return enumeration(std::move(description), enum_names(table), std::string(enum_name(table, def)));
}

/// The value named by `v`, the field at `path` (e.g. "model.activation"). Validation has checked the name against
/// the same table; a value that still does not parse is reported as validation would report it.
template <class E, std::size_t N>
E enum_field_value(const EnumName<E> (&table)[N], const json& v, const std::string& path) {
  if (v.is_string())
    if (std::optional<E> e = enum_value(table, v.get_ref<const std::string&>())) return *e;
  std::string choices;
  for (const EnumName<E>& e : table) choices += (choices.empty() ? "\"" : ", \"") + std::string(e.name) + "\"";
  throw InputError(path + ": expected one of " + choices + ", got " + v.dump());
}

}  // namespace ebm::experiment
