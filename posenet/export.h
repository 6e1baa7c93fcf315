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

#endif  // POSENET_EXPORT_H
