#include "tools/video/interruption.h"

#include <signal.h>

#include <atomic>

namespace posenet::video {

namespace {

std::atomic<int> recorded_signal{0};

void record(int signal_number) {
    int expected = 0;
    if (!recorded_signal.compare_exchange_strong(expected, signal_number) && signal_number == SIGINT) {
        // The second Ctrl-C: the default action, now.
        ::signal(SIGINT, SIG_DFL);
        ::raise(SIGINT);
    }
}

}  // namespace

void install_interrupt_handlers() {
    struct sigaction action {};
    action.sa_handler = record;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR and the reader looks at the flag
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

int interrupted() { return recorded_signal.load(); }

}  // namespace posenet::video
