add_library(corvid_warnings INTERFACE)
target_compile_options(corvid_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wno-missing-field-initializers)
