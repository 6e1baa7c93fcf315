#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "tests/test_vulkan_support.h"

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    int result = context.run();
    posenet::test::release_vulkan_runtime();
    return result;
}
