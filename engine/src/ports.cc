#include "baton/engine/ports.h"

#include <iterator>

namespace baton::engine {

void append(Mutation& to, Mutation&& from) {
  Mutation::each_field(to, from, [](auto& mine, auto& theirs) {
    if constexpr (requires { theirs.has_value(); }) {
      if (theirs.has_value()) {
        mine = std::move(theirs);
      }
    } else {
      mine.insert(mine.end(), std::make_move_iterator(theirs.begin()),
                  std::make_move_iterator(theirs.end()));
    }
  });
}

}  // namespace baton::engine
