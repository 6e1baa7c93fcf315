// What the C API's opaque detector holds, for the C API and the tests that reach behind it (not installed).
#pragma once

#include <string>

#include "posenet/detector.h"
#include "posenet/posenet.h"

struct posenet_detector {
    posenet::PoseDetector detector;
    std::string backend, device_name;
};
