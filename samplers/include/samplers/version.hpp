#pragma once
namespace samplers {
/// The library version, as "major.minor.patch".
const char* version();
}  // namespace samplers
