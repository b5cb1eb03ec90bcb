#include "debug/gdb/GdbServer.h"

#include "common/Error.h"
#include "debug/gdb/GdbSession.h"
#include "log/Log.h"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace kvmscope::debug::gdb {
namespace {

constexpr size_t kReceiveChunk = 4096;

std::string errnoText() {
    return std::strerror(errno);
}

} // namespace

GdbEndpoint parseEndpoint(const std::string& text, const std::string& option) {
    GdbEndpoint endpoint;
    std::string portText = text;
    if (const auto colon = text.rfind(':'); colon != std::string::npos) {
        if (colon > 0)
            endpoint.host = text.substr(0, colon);
        portText = text.substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, error] =
        std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (portText.empty() || error != std::errc() || end != portText.data() + portText.size() ||
        port > 65535)
        throw InputError(fmt::format("{} '{}': expected [HOST:]PORT with PORT from 0 to 65535 "
                                     "(0: any free port)",
                                     option, text));
    endpoint.port = static_cast<uint16_t>(port);
    return endpoint;
}

GdbServer::GdbServer(GdbTarget& target, const GdbEndpoint& endpoint)
    : target_(target), host_(endpoint.host) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(host_.c_str(), nullptr, &hints, &found); rc != 0 || !found)
        throw Error(fmt::format("gdb server: cannot resolve '{}': {}", host_, gai_strerror(rc)));
    sockaddr_in address{};
    std::memcpy(&address, found->ai_addr, sizeof address);
    freeaddrinfo(found);
    address.sin_port = htons(endpoint.port);

    listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listenFd_ < 0)
        throw Error(fmt::format("gdb server: socket failed: {}", errnoText()));
    const int one = 1;
    // A restarted kvmscope can take the port again while the old connection is in TIME_WAIT.
    ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listenFd_, 1) != 0) {
        const std::string why = errnoText();
        ::close(listenFd_);
        throw Error(
            fmt::format("gdb server: cannot listen on {}:{}: {}", host_, endpoint.port, why));
    }
    socklen_t length = sizeof address;
    ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    wakeFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd_ < 0) {
        ::close(listenFd_);
        throw Error(fmt::format("gdb server: eventfd failed: {}", errnoText()));
    }
    target_.setStopListener([this](const GdbStop& stop) { onStop(stop); });
    thread_ = std::thread([this] { threadMain(); });
    log::get("gdb")->info("listening on {}:{}", host_, port_);
}

GdbServer::~GdbServer() {
    target_.setStopListener({});
    quit_.store(true);
    const uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wakeFd_, &one, sizeof one);
    if (thread_.joinable())
        thread_.join();
    ::close(wakeFd_);
    ::close(listenFd_);
}

std::string GdbServer::address() const {
    return fmt::format("{}:{}", host_, port_);
}

void GdbServer::onStop(const GdbStop& stop) {
    {
        std::lock_guard lock(mutex_);
        stops_.push_back(stop);
        // A step stops before its packet's handling returns (the engine waits for it); the
        // server delivers it right after: no wake-up needed (a write, a poll and a read).
        if (handlingPacket_)
            return;
    }
    const uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wakeFd_, &one, sizeof one);
}

void GdbServer::drainWakeups() {
    uint64_t count = 0;
    [[maybe_unused]] const auto got = ::read(wakeFd_, &count, sizeof count);
}

GdbServer::Readiness GdbServer::waitForInput(int fd) {
    for (;;) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) >= 0) {
            const bool woken = (fds[1].revents & POLLIN) != 0;
            if (woken)
                drainWakeups();
            return {true, fds[0].revents, woken};
        }
        if (errno != EINTR) {
            log::get("gdb")->error("poll failed: {}", errnoText());
            return {};
        }
    }
}

void GdbServer::threadMain() {
    while (!quit_.load()) {
        const Readiness ready = waitForInput(listenFd_);
        if (!ready.ok)
            return;
        if (ready.woken) {
            std::lock_guard lock(mutex_);
            stops_.clear(); // no client is waiting for them
            continue;
        }
        if (!(ready.events & POLLIN))
            continue;
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        const int client =
            ::accept4(listenFd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
        if (client < 0)
            continue;
        // Packets are small and each waits for its answer: send them at once (no Nagle delay).
        const int one = 1;
        ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char peerText[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &peer.sin_addr, peerText, sizeof peerText);
        log::get("gdb")->info("client connected from {}:{}", peerText, ntohs(peer.sin_port));
        clientConnected_.store(true);
        try {
            serveClient(client);
        } catch (const std::exception& error) {
            // The session turns kvmscope's errors into error replies; anything else ends this
            // client, never the process.
            log::get("gdb")->error("dropping the client: {}", error.what());
        }
        clientConnected_.store(false);
        ::close(client);
        log::get("gdb")->info("client disconnected");
    }
}

bool GdbServer::sendRaw(int client, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t sent = ::send(client, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
}

bool GdbServer::sendPacket(int client, const std::string& payload, bool ackMode) {
    std::string packet = frame(payload);
    log::get("gdb")->trace("-> {}", packet);
    const bool ok = sendRaw(client, packet);
    if (ackMode)
        lastPacket_ = std::move(packet);
    return ok;
}

void GdbServer::serveClient(int client) {
    GdbSession session(target_);
    PacketReader reader;
    {
        std::lock_guard lock(mutex_);
        stops_.clear();
    }
    lastPacket_.clear();
    std::vector<PacketReader::Event> events;
    std::vector<uint8_t> buffer(kReceiveChunk);
    // Sends the stop replies the session is waiting for; false when the client is gone.
    auto deliverStops = [&] {
        std::deque<GdbStop> stops;
        {
            std::lock_guard lock(mutex_);
            stops.swap(stops_);
        }
        for (const GdbStop& stop : stops)
            if (const auto reply = session.stopped(stop))
                if (!sendPacket(client, *reply, session.ackMode()))
                    return false;
        return true;
    };
    for (;;) {
        const Readiness ready = waitForInput(client);
        if (!ready.ok)
            return;
        if (ready.woken) {
            if (!deliverStops())
                return;
            if (quit_.load()) {
                // The machine is going away. If it ended while the client waited, say how: its
                // stop can reach whoever owns the server before it reaches the listener.
                if (const auto exit = target_.exitStop())
                    if (const auto reply = session.stopped(*exit))
                        sendPacket(client, *reply, session.ackMode());
                return; // the client sees the connection close
            }
        }
        if (!(ready.events & (POLLIN | POLLHUP | POLLERR)))
            continue;
        const ssize_t received = ::recv(client, buffer.data(), buffer.size(), 0);
        if (received < 0 && errno == EINTR)
            continue;
        if (received <= 0) {
            session.connectionLost();
            return;
        }
        events.clear();
        reader.feed(std::span(buffer.data(), static_cast<size_t>(received)), events);
        for (const auto& event : events) {
            const bool ackMode = session.ackMode();
            std::optional<std::string> reply;
            switch (event.kind) {
            case PacketReader::EventKind::Packet:
                log::get("gdb")->trace("<- {}", event.payload);
                if (ackMode && !sendRaw(client, "+"))
                    return;
                {
                    std::lock_guard lock(mutex_);
                    // A stop queued while the client was not waiting belongs to someone else
                    // (the GUI): it must not answer the resume this packet may be.
                    if (!session.running())
                        stops_.clear();
                    handlingPacket_ = true;
                }
                try {
                    reply = session.handle(event.payload);
                } catch (...) {
                    std::lock_guard lock(mutex_);
                    handlingPacket_ = false;
                    throw;
                }
                {
                    std::lock_guard lock(mutex_);
                    handlingPacket_ = false;
                }
                break;
            case PacketReader::EventKind::Interrupt:
                reply = session.interrupt();
                break;
            case PacketReader::EventKind::Ack:
                break;
            case PacketReader::EventKind::Nack:
                if (ackMode && !lastPacket_.empty() && !sendRaw(client, lastPacket_))
                    return;
                break;
            case PacketReader::EventKind::BadChecksum:
                log::get("gdb")->warn("dropped a packet: {}", event.payload);
                if (ackMode && !sendRaw(client, "-"))
                    return;
                break;
            case PacketReader::EventKind::Malformed:
                log::get("gdb")->warn("refused a packet: {}", event.payload);
                if (ackMode && !sendRaw(client, "+"))
                    return;
                reply = "E16";
                break;
            }
            if (reply && !sendPacket(client, *reply, ackMode))
                return;
            if (session.ended())
                return;
            // Stops that came while the packet was handled (a step's, or a breakpoint right
            // after a continue) had no wake-up: reply now.
            if (session.running() && !deliverStops())
                return;
        }
    }
}

} // namespace kvmscope::debug::gdb
