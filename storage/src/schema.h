#pragma once

#include <span>

#include "sqlite.h"

namespace baton::storage {

struct Migration {
  int version;
  const char* sql;
};

std::span<const Migration> migrations();
int latest_schema_version();
Result<int> schema_version(Db& db);
// FailedPrecondition ("run baton migrate") unless `db` is at latest_schema_version().
Status require_latest_schema(Db& db);
// Brings the database to the latest version, one transaction per step. A database newer
// than this binary is refused (FailedPrecondition) and left untouched.
Result<int> migrate(Db& db, int up_to = latest_schema_version());

}  // namespace baton::storage
