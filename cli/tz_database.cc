#include "tz_database.h"

#include <fstream>
#include <iterator>

namespace baton::cli {

routing::ZoneSource system_zones(std::string dir) {
  return [dir = std::move(dir)](std::string_view name) -> Result<std::string> {
    std::string path = dir + "/" + std::string(name);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return Error(ErrorCode::NotFound, "no " + path + "; is tzdata installed?");
    }
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
}

}  // namespace baton::cli
