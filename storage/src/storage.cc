#include "baton/storage/storage.h"

#include <sqlite3.h>

namespace baton::storage {

std::string sqlite_version() { return sqlite3_libversion(); }

}  // namespace baton::storage
