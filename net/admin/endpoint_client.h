#pragma once
// One lepusctl connection to the endpoint, from accept to close (endpoint.cc does its I/O,
// commands.cc its request).
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/admin/endpoint.h"

namespace lepus::admin {

struct Endpoint::Client {
    enum class Phase : u8 {
        reading,  // the request arrives, until the peer shuts its side down
        working,  // awaiting metadata replies or shards' answers
        writing,  // the answer goes out
        closed    // the socket is closed; the entry goes once no I/O is in flight
    };
    Endpoint* endpoint = nullptr;
    u32 id = 0;
    int fd = -1;
    Phase phase = Phase::reading;
    u64 accepted_ms = 0;
    io::Completion recv;
    io::Completion send;
    std::string in;  // [0, in_size) received so far
    usize in_size = 0;
    std::string out;  // the answer; [0, out_sent) sent
    usize out_sent = 0;

    // While working: replies and answers still to come, the answer built up, the first
    // failure, and what to do once everything is in.
    std::string command;
    u32 awaiting = 0;
    nlohmann::json answer = nlohmann::json::object();
    std::string error_reason;
    std::string error_text;
    std::function<void(Client&)> complete;
    u16 error_code = 0;  // the AMQP reply code of the first failed metadata reply
    // The get command: the queue, how many more to ask, the settlement due for each message
    // taken (none for ack_requeue_false, which gets without acks), the encoding asked.
    struct Getting {
        QueueId queue;
        ShardId home;
        u32 left = 0;
        bool no_ack = false;
        std::optional<core::SettleKind> settle;
        bool base64 = false;  // "base64", or "auto" for a body that is not UTF-8
        bool auto_encoding = true;
        i64 truncate = -1;       // -1: whole bodies
        std::vector<u64> taken;  // sequences, settled once all are in
    };
    Getting getting;
    // Set for a submitted request, which has no socket (fd -1): the answer goes here.
    Done done;
};

}  // namespace lepus::admin
