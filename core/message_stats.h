#pragma once
// RabbitMQ's message_stats counters, kept as plain counts by the core that owns the object
// (a queue on its home shard, a channel on its connection's, an exchange's replica on each
// shard that routes through it) and summed when an operator asks: no lock, no message, no
// allocation on the message path. Rates are made from two samples by the reader.
#include "core/base/types.h"

namespace lepus::core {

struct MessageStats {
    // Channels and vhosts: messages published, confirmed, returned or dropped unroutable.
    u64 publish = 0;
    u64 confirm = 0;
    u64 return_unroutable = 0;
    u64 drop_unroutable = 0;
    // Queues and vhosts: deliveries to consumers, basic.get, acks and redeliveries.
    u64 deliver = 0;
    u64 deliver_no_ack = 0;
    u64 get = 0;
    u64 get_no_ack = 0;
    u64 get_empty = 0;
    u64 ack = 0;
    u64 redeliver = 0;
    // Exchanges: messages in, and messages routed on to at least one destination.
    u64 publish_in = 0;
    u64 publish_out = 0;

    // RabbitMQ's deliver_get: every message handed out, by either means.
    u64 deliver_get() const { return deliver + deliver_no_ack + get + get_no_ack; }

    MessageStats& operator+=(const MessageStats& other) {
        publish += other.publish;
        confirm += other.confirm;
        return_unroutable += other.return_unroutable;
        drop_unroutable += other.drop_unroutable;
        deliver += other.deliver;
        deliver_no_ack += other.deliver_no_ack;
        get += other.get;
        get_no_ack += other.get_no_ack;
        get_empty += other.get_empty;
        ack += other.ack;
        redeliver += other.redeliver;
        publish_in += other.publish_in;
        publish_out += other.publish_out;
        return *this;
    }
    friend bool operator==(const MessageStats&, const MessageStats&) = default;
};

}  // namespace lepus::core
