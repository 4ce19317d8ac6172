#include "samplers/version.hpp"
namespace samplers {
const char* version() { return "0.1.0"; }
}  // namespace samplers
