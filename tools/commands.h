// The `posenet` subcommands; each takes the arguments after its name.
#pragma once

namespace posenet::cli {
int cmd_convert(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_detect(int argc, char** argv);
int cmd_video(int argc, char** argv);
int cmd_devices(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_eval(int argc, char** argv);
}  // namespace posenet::cli
