add_library(corvid_warnings INTERFACE)
target_compile_options(corvid_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wno-missing-field-initializers)
# GCC 12 reports std::string members of aggregates as maybe-uninitialized at
# -O2 (a known false positive, GCC PR 105562 and relatives).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(corvid_warnings INTERFACE -Wno-maybe-uninitialized)
endif()
