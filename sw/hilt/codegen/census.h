// Memory census for the C simulation: force-included (g++ -include) before the generated sources, it
// defines HILT_ARRAY / HILT_ARRAY_STATIC to record every marked array once (elements, element width in
// bits, and the kernel's layer struct or the top's own name) and writes them to the file named by
// $HILT_CENSUS at exit, one "owner array elements bits" line each. Not part of any synthesised code.
#ifndef HILT_CENSUS_H
#define HILT_CENSUS_H

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace hilt {
template <int N>
class int_t;
}

namespace hilt_census {

template <class T>
struct bits {
  static const int value = 8 * (int)sizeof(T);
};
template <int N>
struct bits<hilt::int_t<N> > {
  static const int value = N;
};

inline std::vector<std::string> &lines() {
  static std::vector<std::string> l;
  return l;
}

inline void dump() {
  const char *path = std::getenv("HILT_CENSUS");
  if (!path) return;
  FILE *f = std::fopen(path, "w");
  if (!f) return;
  for (const auto &line : lines()) std::fprintf(f, "%s\n", line.c_str());
  std::fclose(f);
}

inline bool record(const char *owner, bool mangled, const char *array, long long elements, int width) {
  static const bool registered = (lines(), std::atexit(dump), true);
  (void)registered;
  int status = 0;
  char *name = mangled ? abi::__cxa_demangle(owner, nullptr, nullptr, &status) : nullptr;
  std::string who = name && status == 0 ? name : owner;
  std::free(name);
  lines().push_back(who + " " + array + " " + std::to_string(elements) + " " + std::to_string(width));
  return true;
}

template <class A>
long long elements(const A &a) {
  return (long long)(sizeof(a) / sizeof(typename std::remove_all_extents<A>::type));
}

}  // namespace hilt_census

// once per template instance (kernel arrays, owner: the layer struct P) or per file-scope array (owner "top")
#define HILT_ARRAY(var)                                                                                    \
  do {                                                                                                     \
    static const bool hilt_census_done = hilt_census::record(                                             \
        typeid(P).name(), true, #var, hilt_census::elements(var),                                          \
        hilt_census::bits<typename std::remove_cv<typename std::remove_all_extents<decltype(var)>::type>::type>::value); \
    (void)hilt_census_done;                                                                                \
  } while (0)
#define HILT_ARRAY_STATIC(var)                                                                             \
  static const bool hilt_census_##var = hilt_census::record(                                              \
      "top", false, #var, hilt_census::elements(var),                                                      \
      hilt_census::bits<typename std::remove_cv<typename std::remove_all_extents<decltype(var)>::type>::type>::value)

#endif  // HILT_CENSUS_H
