#include "net/admin/endpoint.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/json/field_table_json.h"
#include "net/admin/admin_socket.h"
#include "net/admin/endpoint_client.h"

namespace lepus::admin {

namespace {

// A client that has not finished sending its request by then is dropped.
constexpr u64 request_time_max_ms = 30'000;
// Reads grow the request buffer by this much at a time.
constexpr usize read_step = 64 * 1024;
// At most this many clients at once; more are refused at accept.
constexpr usize clients_max = 64;

}  // namespace

Endpoint::Endpoint(int fd, io::Ring& ring, core::Outbox& outbox, core::Broker& broker,
                   u32 shard_count, std::string version, std::function<nlohmann::json()> status)
    : fd_(fd),
      ring_(ring),
      outbox_(outbox),
      broker_(broker),
      catalog_(broker.catalog()),
      shard_count_(shard_count),
      version_(std::move(version)),
      status_(std::move(status)) {
    accept_completion_.callback = &Endpoint::on_accept;
    accept_completion_.owner = this;
}

Endpoint::~Endpoint() {
    for (auto& [id, client] : clients_) {
        if (client->fd >= 0) ::close(client->fd);
    }
    if (fd_ >= 0) ::close(fd_);
}

void Endpoint::start() { arm_accept(); }

void Endpoint::arm_accept() {
    io_uring_sqe* sqe = ring_.prepare(accept_completion_);
    io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
}

void Endpoint::stop() {
    if (stopping_) return;
    stopping_ = true;
    if (accept_completion_.in_flight) {
        io_uring_sqe* sqe = ring_.prepare_untracked();
        io_uring_prep_cancel(sqe, &accept_completion_, 0);
    }
    std::vector<Client*> all;
    for (auto& [id, client] : clients_) all.push_back(client.get());
    for (Client* client : all) drop(*client);
    erase_answered();
}

bool Endpoint::busy() const { return accept_completion_.in_flight || !clients_.empty(); }

void Endpoint::tick(u64 now_ms) {
    now_ms_ = now_ms;
    std::vector<Client*> late;
    for (auto& [id, client] : clients_) {
        if (client->phase == Client::Phase::reading && client->accepted_ms != 0 &&
            now_ms - client->accepted_ms > request_time_max_ms) {
            late.push_back(client.get());
        }
    }
    for (Client* client : late) {
        LEPUS_LOG(warning, "administration socket: a client sent no complete request in %llu s",
                  static_cast<unsigned long long>(request_time_max_ms / 1000));
        drop(*client);
    }
}

void Endpoint::on_accept(io::Completion& completion, i32 result, u32 flags) {
    auto& self = *static_cast<Endpoint*>(completion.owner);
    if (result >= 0) {
        if (self.stopping_) {
            ::close(result);
        } else {
            self.accept(result);
        }
    } else if (result != -ECANCELED && !self.stopping_) {
        LEPUS_LOG(warning, "administration socket: accept failed: %s", std::strerror(-result));
    }
    if (!(flags & IORING_CQE_F_MORE) && !self.stopping_ && !completion.in_flight) {
        self.arm_accept();
    }
}

void Endpoint::accept(int fd) {
    std::string who;
    if (!peer_may_administer(fd, who)) {
        LEPUS_LOG(warning,
                  "administration socket: refused %s, which is neither root nor lepusd's user",
                  who.c_str());
        ::close(fd);
        return;
    }
    if (clients_.size() >= clients_max) {
        LEPUS_LOG(warning, "administration socket: refused %s: %zu requests already in progress",
                  who.c_str(), clients_max);
        ::close(fd);
        return;
    }
    Client& added = add_client();
    added.fd = fd;
    arm_recv(added);
}

Endpoint::Client& Endpoint::add_client() {
    auto client = std::make_unique<Client>();
    client->endpoint = this;
    // Ids skip 0 and any still in use (a submitted request may wait long for its shards).
    do {
        client->id = next_id_++;
    } while (client->id == 0 || clients_.count(client->id) > 0);
    client->accepted_ms = now_ms_;
    client->recv.callback = &Endpoint::on_recv;
    client->recv.owner = client.get();
    client->send.callback = &Endpoint::on_send;
    client->send.owner = client.get();
    Client& added = *client;
    clients_.emplace(added.id, std::move(client));
    return added;
}

void Endpoint::submit(const nlohmann::json& request, Done done) {
    depth_++;
    Client& client = add_client();
    client.done = std::move(done);
    client.phase = Client::Phase::working;
    if (stopping_) {
        fail(client, "failed", "the broker is shutting down");
    } else if (!request.is_object()) {
        fail(client, "invalid_argument", "the request is not a JSON object");
    } else {
        run_guarded(client, request);
    }
    depth_--;
    erase_answered();
}

void Endpoint::run_guarded(Client& client, const nlohmann::json& request) {
    try {
        run(client, request);
    } catch (const nlohmann::json::exception& e) {
        // A field of the wrong type (the commands read fields with get<>).
        if (client.phase == Client::Phase::working && client.awaiting == 0) {
            fail(client, "invalid_argument", std::string("malformed request: ") + e.what());
        }
    }
}

void Endpoint::erase_answered() {
    if (depth_ > 0) return;
    std::vector<u32> answered;
    answered.swap(answered_);
    for (u32 id : answered) clients_.erase(id);
}

void Endpoint::arm_recv(Client& client) {
    if (client.in.size() - client.in_size < read_step / 2) {
        client.in.resize(std::min(client.in_size + read_step, request_bytes_max + 1));
    }
    io_uring_sqe* sqe = ring_.prepare(client.recv);
    io_uring_prep_recv(sqe, client.fd, client.in.data() + client.in_size,
                       client.in.size() - client.in_size, 0);
}

void Endpoint::on_recv(io::Completion& completion, i32 result, u32) {
    auto& client = *static_cast<Client*>(completion.owner);
    Endpoint& self = *client.endpoint;
    if (client.phase != Client::Phase::reading) {
        self.erase_if_idle(client);
        return;
    }
    if (result < 0) {
        self.drop(client);
        return;
    }
    if (result > 0) {
        client.in_size += static_cast<usize>(result);
        if (client.in_size > request_bytes_max) {
            self.fail(
                client, "invalid_argument",
                "the request is larger than " + std::to_string(request_bytes_max >> 20) + " MiB");
            return;
        }
        self.arm_recv(client);
        return;
    }
    // The peer shut its side down: the request is complete.
    client.phase = Client::Phase::working;
    client.in.resize(client.in_size);
    nlohmann::json request = nlohmann::json::parse(client.in, nullptr, false);
    client.in.clear();
    client.in.shrink_to_fit();
    if (request.is_discarded() || !request.is_object()) {
        self.fail(client, "invalid_argument", "the request is not a JSON object");
        return;
    }
    self.depth_++;
    self.run_guarded(client, request);
    self.depth_--;
    self.erase_answered();
}

void Endpoint::respond(Client& client, const nlohmann::json& answer) {
    if (client.phase == Client::Phase::closed) return;
    if (client.done) {
        client.phase = Client::Phase::closed;
        answered_.push_back(client.id);
        auto done = std::move(client.done);
        client.done = nullptr;
        done(answer);
        return;
    }
    client.phase = Client::Phase::writing;
    client.out = json::dump_json(answer);
    client.out.push_back('\n');
    client.out_sent = 0;
    send_rest(client);
}

void Endpoint::fail(Client& client, const std::string& reason, const std::string& text) {
    nlohmann::json answer{{"ok", false}, {"reason", reason}, {"error", text}};
    if (client.error_code != 0) answer["code"] = client.error_code;
    respond(client, answer);
}

void Endpoint::send_rest(Client& client) {
    io_uring_sqe* sqe = ring_.prepare(client.send);
    io_uring_prep_send(sqe, client.fd, client.out.data() + client.out_sent,
                       client.out.size() - client.out_sent, MSG_NOSIGNAL);
}

void Endpoint::on_send(io::Completion& completion, i32 result, u32) {
    auto& client = *static_cast<Client*>(completion.owner);
    Endpoint& self = *client.endpoint;
    if (client.phase != Client::Phase::writing || result <= 0) {
        self.drop(client);
        return;
    }
    client.out_sent += static_cast<usize>(result);
    if (client.out_sent < client.out.size()) {
        self.send_rest(client);
        return;
    }
    self.drop(client);
}

void Endpoint::drop(Client& client) {
    if (client.done) {
        // Stopping: a submitted request is told, so its front end can let its own client go.
        fail(client, "failed", "the broker is shutting down");
        return;
    }
    if (client.phase != Client::Phase::closed) {
        client.phase = Client::Phase::closed;
        // In-flight operations end with an error once the socket is shut down.
        ::shutdown(client.fd, SHUT_RDWR);
    }
    erase_if_idle(client);
}

void Endpoint::erase_if_idle(Client& client) {
    if (client.phase != Client::Phase::closed || client.recv.in_flight || client.send.in_flight) {
        return;
    }
    if (client.fd < 0) return;  // submitted: erase_answered erases it
    ::close(client.fd);
    client.fd = -1;
    clients_.erase(client.id);
}

void Endpoint::on_reply(std::unique_ptr<core::MetaReply> reply) {
    auto it = clients_.find(reply->to.connection.generation);
    if (it == clients_.end()) return;  // the client went; the change stands
    depth_++;
    take_reply(*it->second, *reply);
    depth_--;
    erase_answered();
}

void Endpoint::take_reply(Client& client, const core::MetaReply& reply_ref) {
    const core::MetaReply* reply = &reply_ref;
    if (client.phase != Client::Phase::working) return;
    LEPUS_ASSERT(client.awaiting > 0);
    client.awaiting--;
    if (reply->code != amqp::ReplyCode::reply_success) {
        if (client.error_reason.empty()) {
            const std::string& text = reply->text;
            std::string reason = "failed";
            if (text.find("no_such_user") != std::string::npos || text.rfind("User ", 0) == 0) {
                reason = text.find("already exists") != std::string::npos ? "already_exists"
                                                                          : "no_such_user";
            } else if (text.rfind("Virtual host", 0) == 0) {
                reason = "no_such_vhost";
            } else if (reply->code == amqp::ReplyCode::not_found) {
                reason = "not_found";
            } else if (reply->code == amqp::ReplyCode::precondition_failed) {
                reason = "invalid_argument";
            }
            client.error_reason = reason;
            client.error_text = text;
            client.error_code = static_cast<u16>(reply->code);
            // rabbitmqctl delete_queue's words for the if-empty and if-unused refusals.
            if (client.command == "delete_queue" &&
                reply->code == amqp::ReplyCode::precondition_failed) {
                auto ends_with = [&](std::string_view tail) {
                    return text.size() >= tail.size() &&
                           text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
                };
                if (ends_with("not empty")) client.error_text = "Queue is not empty";
                if (ends_with("in use")) client.error_text = "Queue is in use";
            }
        }
    } else if (client.command == "purge_queue" || client.command == "delete_queue") {
        client.answer["messages"] =
            client.answer.value("messages", u64{0}) + u64{reply->message_count};
    }
    finish_if_done(client);
}

void Endpoint::on_answer(std::unique_ptr<core::AdminAnswer> answer) {
    auto it = clients_.find(static_cast<u32>(answer->id));
    if (it == clients_.end()) return;
    depth_++;
    take_answer(*it->second, *answer);
    depth_--;
    erase_answered();
}

void Endpoint::on_get_reply(std::unique_ptr<core::GetReply> reply) {
    auto it = clients_.find(reply->channel.connection.generation);
    if (it == clients_.end() || it->second->phase != Client::Phase::working) {
        // The asker went: the message goes back to its queue, as a closed channel's would.
        if (reply->message) {
            outbox_.send(
                reply->home,
                core::Settle{reply->queue, reply->sequence, core::SettleKind::requeue, {}, false});
        }
        return;
    }
    depth_++;
    take_get_reply(*it->second, *reply);
    depth_--;
    erase_answered();
}

void Endpoint::take_answer(Client& client, const core::AdminAnswer& answer_ref) {
    const core::AdminAnswer* answer = &answer_ref;
    if (client.phase != Client::Phase::working) return;
    LEPUS_ASSERT(client.awaiting > 0);
    client.awaiting--;
    nlohmann::json rows = nlohmann::json::parse(answer->rows, nullptr, false);
    nlohmann::json& all = client.answer["rows"];
    if (!all.is_array()) all = nlohmann::json::array();
    if (rows.is_array()) {
        for (auto& row : rows) all.push_back(std::move(row));
    }
    if (client.command == "close_connection" || client.command == "close_all_connections") {
        client.answer["closed"] = client.answer.value("closed", u64{0}) + u64{answer->count};
    }
    finish_if_done(client);
}

void Endpoint::finish_if_done(Client& client) {
    if (client.awaiting > 0 || client.phase != Client::Phase::working) return;
    if (!client.error_reason.empty()) {
        fail(client, client.error_reason, client.error_text);
        return;
    }
    if (client.complete) {
        auto complete = std::move(client.complete);
        client.complete = nullptr;
        complete(client);
        // It may have asked for more, or answered itself.
        if (client.awaiting > 0 || client.phase != Client::Phase::working) return;
    }
    client.answer["ok"] = true;
    respond(client, client.answer);
}

}  // namespace lepus::admin
