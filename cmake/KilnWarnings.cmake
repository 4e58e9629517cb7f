# Warnings for kiln's own targets (not for third-party headers, which come in as SYSTEM).
add_library(kiln_warnings INTERFACE)
target_compile_options(kiln_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)
