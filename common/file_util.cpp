#include "common/file_util.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace corvid {
namespace {
boost::system::error_code last_error() { return {errno, boost::system::system_category()}; }
} // namespace

boost::system::result<std::string> read_file(const std::string& path, std::size_t max_bytes)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return last_error();
    std::string out;
    char buf[16384];
    for (;;) {
        const auto n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            auto ec = last_error();
            ::close(fd);
            return ec;
        }
        if (n == 0)
            break;
        if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
            ::close(fd);
            return boost::system::error_code(EFBIG, boost::system::system_category());
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

boost::system::error_code write_file_atomic(const std::string& path, std::string_view content, mode_t mode, bool sync)
{
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return last_error();
    ::fchmod(fd, mode); // umask must not widen or narrow what the caller asked for
    std::size_t done = 0;
    while (done < content.size()) {
        const auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            auto ec = last_error();
            ::close(fd);
            ::unlink(tmp.c_str());
            return ec;
        }
        done += static_cast<std::size_t>(n);
    }
    if (sync && ::fsync(fd) != 0) {
        auto ec = last_error();
        ::close(fd);
        ::unlink(tmp.c_str());
        return ec;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto ec = last_error();
        ::unlink(tmp.c_str());
        return ec;
    }
    return {};
}

bool readable_by_group_or_others(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return false;
    return (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
}

boost::system::error_code make_directories(const std::string& path, mode_t mode)
{
    if (path.empty())
        return {};
    std::string partial;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        partial = path.substr(0, pos);
        if (partial.empty())
            continue;
        if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
            return last_error();
    }
    return {};
}

} // namespace corvid
