#include "open_files.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <sys/resource.h>

namespace baton::api {

Result<std::size_t> fit_open_files(std::size_t max_connections, std::size_t reserved) {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return Error(ErrorCode::Internal,
                 std::string("cannot read the open-files limit: ") + std::strerror(errno));
  }
  if (limit.rlim_cur != limit.rlim_max) {
    struct rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  auto have = static_cast<std::size_t>(limit.rlim_cur);
  if (limit.rlim_cur != RLIM_INFINITY && max_connections + reserved > have) {
    return Error(ErrorCode::InvalidArgument,
                 "limits.max_connections (" + std::to_string(max_connections) +
                     ") plus limits.reserved_files (" + std::to_string(reserved) +
                     ") is more than the open-files limit (" + std::to_string(have) +
                     "): lower them, or raise the limit (ulimit -n, LimitNOFILE=)");
  }
  return have;
}

}  // namespace baton::api
