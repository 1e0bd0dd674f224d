#pragma once
// What a channel shares with the session that holds it, so that calls go one way only: the
// session calls its channels; a channel reads the session's facts and writes signals, which
// the session reads after each call into a channel.
#include <optional>
#include <string>
#include <string_view>

#include "core/base/limits.h"
#include "core/base/types.h"
#include "core/catalog.h"
#include "core/shard_message.h"
#include "net/amqp/methods.h"
#include "net/session/host.h"

namespace lepus::session {

// The connection as its channels see it; written by the handshake, read-only afterwards.
struct SessionFacts {
    core::ConnectionKey key;
    std::string peer_name;
    std::string user;
    std::string vhost;
    // The vhost the connection opened. Catalog entries never move, and a deleted vhost's entry
    // stays, emptied, until the broker stops (Catalog::apply_update), so this stays valid
    // while the connection is closed for the deletion.
    const core::VHost* vhost_entry = nullptr;
    u32 frame_max = limits::frame_size_max;
    bool consumer_cancel_notify = false;
};

// A channel's error whose code AMQP classes as hard: the session closes the connection.
struct HardError {
    amqp::ReplyCode code;
    std::string text;
    u16 class_id = 0;
    u16 method_id = 0;
};

// What channels tell their session.
struct ChannelSignals {
    // A message went to the broker in this batch of input (for back-pressure), and reached
    // this queue under pressure, if any.
    bool published = false;
    std::optional<QueueId> pressured;
    bool credit_owed = false;  // deliveries were written whose credit goes back once sent
    // An exclusive queue was declared: the session tells the metadata shard when it closes.
    bool exclusive_queue_declared = false;
    std::optional<HardError> hard_error;  // the session acts on it as soon as the call returns
    u64 consumer_ids = 0;                 // the last consumer id handed out on the connection
};

// channel.close or connection.close with `code`, its text cut to a short string's 255 bytes
// (a view into `text`), and the method it blames.
template <typename Close>
Close close_method(amqp::ReplyCode code, std::string_view text, u16 class_id, u16 method_id) {
    Close close;
    close.reply_code = amqp::wire_code(code);
    close.reply_text = text.substr(0, 255);
    close.failing_class_id = class_id;
    close.failing_method_id = method_id;
    return close;
}

struct ChannelLink {
    Services& services;
    SessionHost& host;
    OutQueue& out;  // the host's, which never changes: no call per frame to find it
    const SessionFacts& facts;
    ChannelSignals& signals;
};

}  // namespace lepus::session
