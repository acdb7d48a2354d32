add_library(corvid_warnings INTERFACE)
target_compile_options(corvid_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wno-missing-field-initializers)
# GCC 12 false positives: std::string members of aggregates reported as
# maybe-uninitialized at -O2 (GCC PR 105562 and relatives), and Asio's
# coroutine frames (its own operator new/delete pair) reported as
# mismatched-new-delete once inlined, and -Wrestrict on inlined
# std::string copies (GCC PR 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(corvid_warnings INTERFACE -Wno-maybe-uninitialized
                                                   -Wno-mismatched-new-delete -Wno-restrict)
endif()
