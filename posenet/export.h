// POSENET_API marks what the shared library exports; everything else is hidden (built with
// -fvisibility=hidden). Usable from C and C++.
#ifndef POSENET_EXPORT_H
#define POSENET_EXPORT_H

#if defined(_WIN32) && !defined(POSENET_STATIC)
#if defined(POSENET_BUILDING_LIBRARY)
#define POSENET_API __declspec(dllexport)
#else
#define POSENET_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define POSENET_API __attribute__((visibility("default")))
#else
#define POSENET_API
#endif

// POSENET_LOCAL keeps a member of an exported class out of the library's exports (a pimpl's Impl,
// which would otherwise take the class's default visibility).
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define POSENET_LOCAL __attribute__((visibility("hidden")))
#else
#define POSENET_LOCAL
#endif

#endif  // POSENET_EXPORT_H
