#pragma once
// The administration endpoint (README.md): shard 0 accepts lepusctl's connections on the Unix
// socket in its own io_uring loop, reads one JSON request from each, answers it from the
// catalog or through the metadata authority and the other shards, writes one JSON answer and
// closes. No thread of its own and no blocking call: every read, write and accept is a ring
// operation, and every question to another shard a message.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/broker.h"
#include "core/catalog.h"
#include "core/shard_message.h"
#include "net/io/ring.h"

namespace lepus::admin {

class Endpoint {
public:
    // `status`: the node's facts for the status command (the shard knows its listeners,
    // memory and alarms). `fd`: the listening socket (open_admin_socket), owned from now on.
    // `version`: the broker's, for exports.
    // `broker`: shard 0's, whose catalog replica answers questions and which routes the
    // management API's publishes.
    Endpoint(int fd, io::Ring& ring, core::Outbox& outbox, core::Broker& broker, u32 shard_count,
             std::string version, std::function<nlohmann::json()> status);
    ~Endpoint();
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    void start();
    // Stops accepting and drops the clients; busy() until their I/O has drained.
    void stop();
    bool busy() const;
    // Drops clients that have not sent their request within the limit.
    void tick(u64 now_ms);

    // A metadata reply to one of the endpoint's requests (core::is_admin_requester).
    void on_reply(std::unique_ptr<core::MetaReply> reply);
    // A shard's answer to an AdminQuery.
    void on_answer(std::unique_ptr<core::AdminAnswer> answer);
    // A queue's answer to one of the endpoint's basic.gets (the `get` command).
    void on_get_reply(std::unique_ptr<core::GetReply> reply);

    // Runs one request, in the socket's format, for another front end in this loop (the
    // management API): `done` gets the answer the socket would send, now or later, never
    // after the endpoint is destroyed. A failed change also carries `code`, the AMQP reply
    // code the metadata authority answered with.
    using Done = std::function<void(const nlohmann::json& answer)>;
    void submit(const nlohmann::json& request, Done done);

    // Every request and answer is a JSON object; a request larger than this is refused.
    static constexpr usize request_bytes_max = 64u << 20;

private:
    struct Client;
    static void on_accept(io::Completion& completion, i32 result, u32 flags);
    static void on_recv(io::Completion& completion, i32 result, u32 flags);
    static void on_send(io::Completion& completion, i32 result, u32 flags);
    void arm_accept();
    void accept(int fd);
    void arm_recv(Client& client);
    void send_rest(Client& client);
    void drop(Client& client);
    void erase_if_idle(Client& client);
    Client& add_client();
    void run_guarded(Client& client, const nlohmann::json& request);
    // Erases the submitted requests that have been answered, once no call is on the stack.
    void erase_answered();
    void take_reply(Client& client, const core::MetaReply& reply);
    void take_answer(Client& client, const core::AdminAnswer& answer);

    // commands.cc: runs a parsed request; answers at once or leaves the client waiting for
    // replies and answers.
    void run(Client& client, const nlohmann::json& request);
    void run_question(Client& client, const std::string& command, const nlohmann::json& request);
    bool run_change(Client& client, const std::string& command, const nlohmann::json& request);
    // object_commands.cc: declare_queue, declare_exchange, delete_exchange, bind, unbind.
    bool run_object_change(Client& client, const std::string& command,
                           const nlohmann::json& request);
    void send_meta(Client& client, core::MetaOp op, std::string vhost = {});
    void ask_shards(Client& client, core::AdminQuery query);
    // message_commands.cc: publish and get, the management API's.
    void publish(Client& client, const nlohmann::json& request);
    void get(Client& client, const nlohmann::json& request);
    void ask_next_get(Client& client);
    void take_get_reply(Client& client, core::GetReply& reply);
    // definitions.cc
    void import_definitions(Client& client, const nlohmann::json& request);
    void export_definitions(Client& client);
    // The answer, when nothing more is awaited.
    void finish_if_done(Client& client);
    void respond(Client& client, const nlohmann::json& answer);
    void fail(Client& client, const std::string& reason, const std::string& text);

    int fd_;
    io::Ring& ring_;
    core::Outbox& outbox_;
    core::Broker& broker_;
    const core::Catalog& catalog_;
    u32 shard_count_;
    std::string version_;
    std::function<nlohmann::json()> status_;
    io::Completion accept_completion_;
    bool stopping_ = false;
    u32 next_id_ = 1;
    std::unordered_map<u32, std::unique_ptr<Client>> clients_;
    u64 now_ms_ = 0;
    std::vector<u32> answered_;  // submitted requests answered, to be erased
    u32 depth_ = 0;              // nesting of submit, on_reply and on_answer
};

}  // namespace lepus::admin
