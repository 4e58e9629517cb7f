# Warnings for kiln's own targets (not for third-party headers, which come in as SYSTEM).
# OpDefs use designated initializers that leave fields at their defaults on purpose, and
# GCC 12 reports false -Wrestrict positives inside std::string concatenation.
add_library(kiln_warnings INTERFACE)
target_compile_options(kiln_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter
                       -Wno-missing-field-initializers
                       $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
