#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and LevelDB.
// Table-driven in software, one byte at a time: the agent checksums a few KB every few seconds, so
// speed does not justify a hardware path or a dependency. Pure function, any thread.
#include <cstdint>
#include <string_view>

namespace corvid {

// Continues a CRC: crc32c(b, crc32c(a)) == crc32c(a + b). Start with 0.
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

} // namespace corvid
