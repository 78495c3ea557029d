#include "baton/api/api.h"

namespace baton::api {

std::string_view api_version() { return "v1"; }

}  // namespace baton::api
