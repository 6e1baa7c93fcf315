// Ctrl-C and kill during a run: the handlers only record the signal, so every output can be cleaned
// up (or, for a camera, finished) by the code that owns it. Blocking reads in the frame sources come
// back early (EINTR: the handlers are installed without SA_RESTART) and check interrupted().
#pragma once

namespace posenet::video {

// Installs handlers for SIGINT and SIGTERM that record the signal; a second SIGINT ends the process
// at once (the default action), for a user who insists. Ignores SIGPIPE, so a closed stdout becomes
// a write error that the run reports and cleans up after, instead of a silent death.
void install_interrupt_handlers();

// The signal recorded since install_interrupt_handlers(), or 0.
int interrupted();

}  // namespace posenet::video
