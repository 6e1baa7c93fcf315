#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "engine/vulkan/instance.h"
#include "tests/test_vulkan_support.h"

namespace posenet::test {

std::atomic<int> g_expected_validation{0};

namespace {

std::atomic<uint64_t> g_outside_tests{0};
std::mutex g_first_mutex;
std::string g_first_outside;

// Every Vulkan validation message in the process, whichever instance it came from (the suite's
// runtime, a detector's, a stream's): it fails the running test case unless that test expects
// messages (ExpectValidationMessages); outside a test case it fails the run (main's exit status).
void on_validation_message(const std::string& message) {
    if (g_expected_validation.load() > 0) return;
    if (doctest::is_running_in_test) {
        FAIL_CHECK("Vulkan validation message: " << message);
        return;
    }
    if (g_outside_tests++ == 0) {
        std::lock_guard<std::mutex> lock(g_first_mutex);
        g_first_outside = message;
    }
}

}  // namespace
}  // namespace posenet::test

int main(int argc, char** argv) {
    posenet::engine::vk::set_validation_observer(posenet::test::on_validation_message);
    doctest::Context context(argc, argv);
    int result = context.run();
    posenet::test::release_vulkan_runtime();
    if (const uint64_t n = posenet::test::g_outside_tests.load()) {
        std::printf("FAILED: %llu Vulkan validation message(s) outside any test case; the first: %s\n", (unsigned long long)n,
                    posenet::test::g_first_outside.c_str());
        if (result == 0) result = 1;
    }
    return result;
}
