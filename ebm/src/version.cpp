#include "ebm/version.hpp"
namespace ebm {
const char* version() { return "0.1.0"; }
}  // namespace ebm
