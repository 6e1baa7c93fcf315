// What the library throws. Every failure is one of these (or std::bad_alloc), and what() names the
// file and the node, field or value at fault.
#pragma once

#include <stdexcept>
#include <string>

#include "posenet/export.h"

namespace posenet {

// A configuration value or an argument that is not allowed; the message names the field.
struct POSENET_API ConfigError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// A model that cannot be read, converted or validated; the message names the file and the node,
// weight or field.
struct POSENET_API ModelError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A file or buffer that cannot be read or decoded as an image; file() is the name it was given.
struct POSENET_API ImageError : std::runtime_error {
    ImageError(const std::string& file, const std::string& reason);
    const std::string& file() const { return file_; }

private:
    std::string file_;
};

// The compute device: no Vulkan loader or device, a device index that does not exist, a precision the
// device cannot run, device memory exhausted, a lost device, a run that timed out.
struct POSENET_API DeviceError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace posenet
