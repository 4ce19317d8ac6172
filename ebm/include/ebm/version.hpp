#pragma once
namespace ebm {
/// The library version, as "major.minor.patch".
const char* version();
}  // namespace ebm
