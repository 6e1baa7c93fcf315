#include <cstdio>
#include <cstdlib>

#include "engine/cpu_kernels.h"
#include "engine/vulkan/executor.h"
#include "engine/backend_selection.h"
#include "engine/environment.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace posenet::cli {

static const char* kHelp =
    "usage: posenet devices\n"
    "\n"
    "Lists the Vulkan devices (index for --device, name, type, driver, device-local memory), the CPU\n"
    "executor's kernels, and the backend `--backend auto` picks (the CPU where the only Vulkan device\n"
    "is a software one).\n";

int cmd_devices(int argc, char** argv) {
    Args args(argc, argv);
    if (args.help(kHelp)) return 0;
    if (!args.positional().empty()) throw UsageError("takes no arguments");
    auto devices = engine::list_vulkan_devices();
    if (devices.empty()) std::printf("no Vulkan devices\n");
    for (const auto& d : devices)
        std::printf("%d: %s (%s), driver %s, Vulkan %u.%u, %.1f GiB device-local%s\n", d.index, d.name.c_str(),
                    d.type.c_str(), d.driver.c_str(), d.api_version >> 22, (d.api_version >> 12) & 0x3ff,
                    d.device_local_bytes / double(1ull << 30), d.has_compute_queue ? "" : ", no compute queue");
    const auto isa = engine::cpu::default_isa();
    std::printf("CPU executor kernels: %s%s\n", engine::cpu::to_string(isa),
                isa == engine::cpu::Isa::Avx512 ? " (AVX-512 F/BW/DQ/VL; $POSENET_CPU_KERNELS=avx2|baseline for the others)"
                : isa == engine::cpu::Isa::Avx2 ? " (AVX2 + FMA; $POSENET_CPU_KERNELS=baseline for the baseline build)"
                                                : "");
    const bool env = engine::environment::vulkan_device().has_value();
    std::printf("--backend auto: %s\n", env                         ? "vulkan ($POSENET_VULKAN_DEVICE names the device)"
                                         : devices.empty()           ? "cpu (no Vulkan device)"
                                         : engine::auto_prefers_cpu(devices) ? "cpu (the Vulkan device it would pick is a software one)"
                                                                     : "vulkan");
    return 0;
}

}  // namespace posenet::cli
