# corvid_bench_stats: the benchmark statistics (bench/stats.cpp), a pure C++
# library with no dependencies. Declared here rather than in bench/CMakeLists.txt
# because corvid_tests unit-tests it even in presets that do not build the
# benchmarks (asan): tests/CMakeLists.txt and bench/CMakeLists.txt both include
# this file, and the guard makes the first one win.
include_guard(GLOBAL)
add_library(corvid_bench_stats STATIC ${PROJECT_SOURCE_DIR}/bench/stats.cpp)
target_include_directories(corvid_bench_stats PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(corvid_bench_stats PRIVATE corvid_warnings)
