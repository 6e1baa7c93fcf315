/* Linked into the executables of AddressSanitizer builds only (meson.build, tests/sanitize.sh):
 * dlclose() does nothing, so the Vulkan loader, driver (lavapipe, LLVM) and validation layer stay
 * mapped until exit. After a real dlclose their globals are gone, and LeakSanitizer reports all the
 * memory those globals still held as leaked, with stacks it cannot name (<unknown module>); kept
 * mapped, that memory is reachable and nothing is reported. Leaks of ours are found as before. The
 * executable exports this definition (-Wl,--export-dynamic-symbol=dlclose), so it wins over libc's
 * (and ASan's interceptor) for every library, dlopen()ed ones included. */
int dlclose(void *handle);

__attribute__((visibility("default"))) int dlclose(void *handle) {
    (void)handle;
    return 0;
}
