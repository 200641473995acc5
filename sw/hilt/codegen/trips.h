// Trip counting for the C simulation: force-included (g++ -include) before the generated sources, it
// defines HILT_TRIP to count every marked loop iteration per layer struct and writes the counts to the
// file named by $HILT_TRIPS at exit, one "struct kind count" line each. Not part of any synthesised code.
#ifndef HILT_TRIPS_H
#define HILT_TRIPS_H

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <typeinfo>

namespace hilt_trips {

inline std::map<std::string, long long> &counts() {
  static std::map<std::string, long long> c;
  return c;
}

inline void dump() {
  const char *path = std::getenv("HILT_TRIPS");
  if (!path) return;
  FILE *f = std::fopen(path, "w");
  if (!f) return;
  for (const auto &kv : counts()) std::fprintf(f, "%s %lld\n", kv.first.c_str(), kv.second);
  std::fclose(f);
}

inline long long &slot(const char *mangled, const char *kind) {
  // the map first: exit handlers run in reverse, so dump() sees it before its destructor runs
  static const bool registered = (counts(), std::atexit(dump), true);
  (void)registered;
  int status = 0;
  char *name = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string key = std::string(status == 0 ? name : mangled) + " " + kind;
  std::free(name);
  return counts()[key];
}

}  // namespace hilt_trips

// one counter per (layer struct, call site): a static reference inside the template instance
#define HILT_TRIP(kind)                                                          \
  do {                                                                           \
    static long long &hilt_trip_count = hilt_trips::slot(typeid(P).name(), #kind); \
    ++hilt_trip_count;                                                           \
  } while (0)

#endif  // HILT_TRIPS_H
