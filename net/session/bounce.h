#pragma once
// What happens to a message for a channel that is no longer there (closed, or its connection
// gone): whatever it carried goes back to its queue, and a consumer registered for it is
// cancelled, so nothing is lost or left consuming on behalf of nobody.
#include "core/shard_message.h"

namespace lepus::session {

void bounce(core::ShardMessage& message, core::Outbox& outbox);

}  // namespace lepus::session
