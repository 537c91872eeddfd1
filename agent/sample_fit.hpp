#pragma once
// Keeps a sample within the size the collector accepts (proto::max_sample_frame_bytes). A host
// with thousands of cores, interfaces or containers could otherwise produce a sample that the
// collector refuses with 1009 every time it is sent: since acks are cumulative, that one record
// would stop the whole metrics stream. Cutting the longest lists keeps every headline number and
// most of the detail; the agent logs when it has to. Pure: tested without I/O.
#include <cstddef>
#include <string>
#include <vector>

#include "proto/messages.hpp"

namespace corvid::agent {

// The room for a sample's `data` in a metrics frame: the frame's envelope (type, server_id, seq)
// takes well under 256 bytes.
std::size_t max_sample_data_bytes();

// Halves the longest of the per-item lists (cpu.cores, disk_usage, disk_io, network, containers),
// longest first by encoded size, until proto::encode_sample_data(s) fits `max_bytes`. Returns the
// names of the lists it cut, each once (empty when the sample already fitted).
std::vector<std::string> fit_sample(proto::sample_data& s, std::size_t max_bytes);

} // namespace corvid::agent
