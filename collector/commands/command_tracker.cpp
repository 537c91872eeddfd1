#include "collector/commands/command_tracker.hpp"

#include "common/signing.hpp"
#include "common/time_format.hpp"
#include "proto/codec.hpp"

namespace corvid::collector {
namespace {
std::shared_ptr<const std::string> shared(std::string s) { return std::make_shared<const std::string>(std::move(s)); }
} // namespace

std::string_view status_of(const proto::command_response& r)
{
    if (r.error)
        return "denied"; // refused by the agent: disabled, denied, bad_signature, expired, replayed, busy
    if (r.timed_out)
        return "timed_out";
    return r.exit_code == 0 ? "completed" : "failed";
}

void command_tracker::start(command_record record, const agent_link* link)
{
    const std::string id = record.id;
    auto& c = live_[id];
    c.record = std::move(record);
    c.record.status = "running";
    c.link = link;
}

command_tracker::live_command* command_tracker::find_running(const std::string& server_id,
                                                             const std::string& command_id)
{
    auto it = live_.find(command_id);
    if (it == live_.end() || it->second.record.server_id != server_id || it->second.final_frame)
        return nullptr;
    return &it->second;
}

void command_tracker::broadcast(live_command& c, const std::shared_ptr<const std::string>& frame)
{
    std::erase_if(c.watchers, [&](const std::weak_ptr<command_watcher>& w) {
        auto p = w.lock();
        if (!p)
            return true;
        p->deliver(frame);
        return false;
    });
}

bool command_tracker::on_output(const std::string& server_id, const proto::command_output& out)
{
    auto* c = find_running(server_id, out.command_id);
    if (!c || c->record.kind != "shell")
        return false;
    auto frame = shared(proto::encode(out));
    if (!c->buffer_full) {
        if (c->buffered + out.data.size() <= max_buffered_output) {
            c->buffered += out.data.size();
            c->frames.push_back(frame);
        } else {
            c->buffer_full = true;
        }
    }
    broadcast(*c, frame);
    return true;
}

void command_tracker::finish(live_command& c, std::shared_ptr<const std::string> final_frame)
{
    c.final_frame = std::move(final_frame);
    broadcast(c, c.final_frame);
    for (auto& w : c.watchers)
        if (auto p = w.lock())
            p->command_ended();
    c.watchers.clear();
}

void apply_response(command_record& rec, const proto::command_response& r)
{
    rec.status = std::string(status_of(r));
    rec.exit_code = r.exit_code;
    rec.duration_ms = r.duration_ms;
    rec.output = r.output;
    rec.truncated = r.truncated;
    if (r.error)
        rec.error = r.message ? *r.error + ": " + *r.message : *r.error;
    else if (r.message)
        rec.error = *r.message; // ran, but the agent has something to say (e.g. could not start)
    rec.output_sha256 = sha256_hex(rec.output);
    rec.finished_at_ms = now_unix_ms();
}

void apply_docker_response(command_record& rec, const proto::docker_response& r)
{
    rec.status = r.error ? "denied" : r.success ? "completed" : "failed";
    rec.exit_code = r.success ? 0 : 1;
    rec.output = r.message;
    if (r.error)
        rec.error = *r.error;
    rec.output_sha256 = sha256_hex(rec.output);
    rec.finished_at_ms = now_unix_ms();
    rec.duration_ms = *rec.finished_at_ms - rec.created_at_ms;
}

std::optional<command_record> command_tracker::on_response(const std::string& server_id,
                                                           const proto::command_response& r)
{
    auto* c = find_running(server_id, r.command_id);
    if (!c || c->record.kind != "shell")
        return std::nullopt;
    apply_response(c->record, r);
    finish(*c, shared(proto::encode(r)));
    return c->record;
}

std::optional<command_record> command_tracker::on_docker_response(const std::string& server_id,
                                                                  const proto::docker_response& r)
{
    auto* c = find_running(server_id, r.command_id);
    if (!c || c->record.kind != "docker")
        return std::nullopt;
    apply_docker_response(c->record, r);
    finish(*c, shared(proto::encode(r)));
    return c->record;
}

std::vector<command_record> command_tracker::on_link_closed(const agent_link* link)
{
    std::vector<command_record> lost;
    for (auto& [id, c] : live_) {
        if (c.link != link || c.final_frame)
            continue;
        c.record.status = "lost";
        c.record.error = "the agent disconnected before the command finished";
        c.record.finished_at_ms = now_unix_ms();
        proto::command_response r;
        r.command_id = id;
        r.exit_code = -1;
        r.error = "lost";
        r.message = *c.record.error;
        finish(c, shared(proto::encode(r)));
        lost.push_back(c.record);
    }
    return lost;
}

void command_tracker::forget(const std::string& command_id) { live_.erase(command_id); }

bool command_tracker::watch(const std::string& command_id, const std::shared_ptr<command_watcher>& w)
{
    auto it = live_.find(command_id);
    if (it == live_.end())
        return false;
    auto& c = it->second;
    for (const auto& f : c.frames)
        w->deliver(f);
    if (c.final_frame) {
        w->deliver(c.final_frame);
        w->command_ended();
    } else {
        c.watchers.push_back(w);
    }
    return true;
}

} // namespace corvid::collector
