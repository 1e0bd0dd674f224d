#pragma once
// An Outbox that keeps what is sent, in order, for a test to look at. For tests only.
#include <utility>
#include <vector>

#include "core/shard_message.h"

namespace lepus::test_support {

class RecordingOutbox final : public core::Outbox {
public:
    struct Sent {
        ShardId to;
        core::ShardMessage message;
    };
    void send(ShardId to, core::ShardMessage message) override {
        sent.push_back(Sent{to, std::move(message)});
    }
    std::vector<Sent> sent;
};

}  // namespace lepus::test_support
