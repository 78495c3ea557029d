#include <cmath>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "baton/base/types.h"

using baton::append_json_number;
using baton::exact_integer;

namespace {
std::string written(double d) {
  std::string out;
  append_json_number(out, d);
  return out;
}
}  // namespace

TEST_CASE("[regress] any double is written as a JSON number without undefined behaviour",
          "[base][json][regress]") {
  // 1e300 once went through a cast to int64_t, which is undefined for it.
  CHECK(written(1e300) == "1e+300");
  CHECK(written(-1e300) == "-1e+300");
  CHECK(written(9.3e18) == "9.3e+18");
  CHECK(written(42.0) == "42");
  CHECK(written(-7.0) == "-7");
  CHECK(written(0.25) == "0.25");
  CHECK(written(9007199254740991.0) == "9007199254740991");
  CHECK(written(std::numeric_limits<double>::infinity()) == "null");
  CHECK(written(std::nan("")) == "null");
  CHECK_FALSE(exact_integer(1e300).has_value());
  CHECK_FALSE(exact_integer(0.5).has_value());
  CHECK(exact_integer(-3.0) == -3);
  CHECK_FALSE(exact_integer(std::numeric_limits<double>::quiet_NaN()).has_value());
}
