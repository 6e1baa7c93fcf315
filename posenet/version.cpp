#include "posenet/version.h"

namespace posenet {

const char* version() { return POSENET_VERSION_STRING; }

}  // namespace posenet
