// What an operator sees of a connection and its channels (session_view.h), and the operator's
// close.
#include <algorithm>

#include "core/base/log.h"
#include "net/session/channel.h"
#include "net/session/session.h"

namespace lepus::session {

ChannelView Channel::view() const {
    ChannelView v;
    v.number = number_;
    v.transactional = transaction_.on();
    v.confirm = confirms_.on();
    v.consumer_count = static_cast<u32>(consumers_.size());
    v.messages_unacknowledged = unacked_.live();
    v.messages_uncommitted = transaction_.held_publishes();
    v.acks_uncommitted = transaction_.held_settles();
    v.messages_unconfirmed = confirms_.unconfirmed();
    v.prefetch_count = prefetch_.per_consumer();
    v.global_prefetch_count = prefetch_.global();
    v.stats = stats();
    v.released = released_;
    return v;
}

SessionView Session::view() const {
    SessionView v;
    v.user = facts_.user;
    v.vhost = facts_.vhost;
    switch (state_) {
        case State::protocol_header:
        case State::start_ok: v.state = "starting"; break;
        case State::tune_ok: v.state = "tuning"; break;
        case State::open_wait: v.state = "opening"; break;
        case State::open: v.state = blocked_sent_ ? "blocked" : "running"; break;
        case State::closing: v.state = "closing"; break;
        case State::closed: v.state = "closed"; break;
    }
    v.auth_mechanism = auth_mechanism_;
    v.client_properties = client_properties_;
    v.heartbeat_s = heartbeat_s_;
    v.frame_max = facts_.frame_max;
    v.channel_max = channel_max_;
    v.age_ms = services_.now_ms - opened_ms_;
    for (const auto& [number, channel] : channels_) {
        if (channel->state() == Channel::State::open) v.channels.push_back(channel->view());
    }
    std::sort(v.channels.begin(), v.channels.end(),
              [](const ChannelView& a, const ChannelView& b) { return a.number < b.number; });
    return v;
}

bool Session::close_by_operator(const std::string& explanation) {
    if (state_ != State::open) return false;
    LEPUS_LOG(info, "closing connection %s: %s", facts_.peer_name.c_str(), explanation.c_str());
    connection_error(amqp::ReplyCode::connection_forced, "CONNECTION_FORCED - " + explanation, 0,
                     0);
    return true;
}

}  // namespace lepus::session
