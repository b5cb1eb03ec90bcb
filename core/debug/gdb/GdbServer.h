#pragma once
// kvmscope's gdb remote stub over TCP: a listening socket on HOST:PORT, one client at a time,
// served by its own thread. The thread sleeps in poll() on the listening or client socket and an
// eventfd that stops and shutdown signal (no spinning: the vcpus need the host's cores).
// GdbPacket frames the bytes, GdbSession answers the packets, a GdbTarget is the machine.
#include "debug/gdb/GdbPacket.h"
#include "debug/gdb/GdbTarget.h"

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace kvmscope::debug::gdb {

struct GdbEndpoint {
    std::string host = "127.0.0.1";
    uint16_t port = 1234; // 0: any free port (see GdbServer::port())
};

// "PORT", "HOST:PORT" or ":PORT"; throws InputError naming `option` and the text.
GdbEndpoint parseEndpoint(const std::string& text, const std::string& option);

class GdbServer {
public:
    // Binds and listens at once (throws Error naming the address when it cannot), so the port is
    // known and connectable when the constructor returns; the thread starts serving at once.
    GdbServer(GdbTarget& target, const GdbEndpoint& endpoint);
    ~GdbServer(); // closes the client and the socket, joins the thread

    GdbServer(const GdbServer&) = delete;
    GdbServer& operator=(const GdbServer&) = delete;

    uint16_t port() const { return port_; }
    std::string address() const; // "HOST:PORT"
    bool clientConnected() const { return clientConnected_.load(); }

private:
    void threadMain();
    void serveClient(int client);
    void onStop(const GdbStop& stop);
    bool sendPacket(int client, const std::string& payload, bool ackMode);
    bool sendRaw(int client, std::string_view bytes);
    void drainWakeups();
    // Waits until `fd` has input (or hung up) or the server is woken (a stop, or quit); a wake-up
    // is drained here. `ok` is false when poll(2) failed (logged).
    struct Readiness {
        bool ok = false;
        short events = 0; // poll(2)'s revents of `fd`
        bool woken = false;
    };
    Readiness waitForInput(int fd);

    GdbTarget& target_;
    std::string host_;
    uint16_t port_ = 0;
    int listenFd_ = -1;
    int wakeFd_ = -1; // eventfd: a stop was queued, or shutdown
    std::atomic<bool> quit_{false};
    std::atomic<bool> clientConnected_{false};
    std::mutex mutex_;
    std::deque<GdbStop> stops_; // guarded by mutex_
    // guarded by mutex_: the server thread is handling a packet and delivers queued stops right
    // after it, so a stop reported meanwhile (on any thread) needs no wake-up.
    bool handlingPacket_ = false;
    std::string lastPacket_; // server thread: for a resend after `-`
    std::thread thread_;
};

} // namespace kvmscope::debug::gdb
