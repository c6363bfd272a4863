#pragma once
// Symbols are hidden by default (-fvisibility=hidden); LOOM_API marks the public C++ API.
#if defined(_WIN32)
#define LOOM_API __declspec(dllexport)
#else
#define LOOM_API __attribute__((visibility("default")))
#endif
