#include "baton/engine/clock.h"

#include "baton/base/assert.h"

namespace baton::engine {

void VirtualClock::set(TimePoint t) {
  BATON_CHECK(t >= now_, "virtual time never goes back");
  now_ = t;
}

}  // namespace baton::engine
