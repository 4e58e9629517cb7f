# A kernel cache directory that anyone can write is not used: after a whole run it is still
# empty, and the run said why, once. Called by ctest:
#   cmake -DEXE=<regression_1d> -DOUT=<folder> -P cache_refused.cmake
cmake_policy(VERSION 3.20)
file(REMOVE_RECURSE "${OUT}")
set(cache "${OUT}/shared-cache")
file(MAKE_DIRECTORY "${cache}")
file(CHMOD "${cache}" DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
     GROUP_WRITE GROUP_EXECUTE WORLD_READ WORLD_WRITE WORLD_EXECUTE)
execute_process(COMMAND ${CMAKE_COMMAND} -E env KILN_CACHE_DIR=${cache} --unset=KILN_CACHE
                        "${EXE}" --epochs 1 --out "${OUT}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 300)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with '${rc}'; stderr:\n${err}")
endif()
file(GLOB entries "${cache}/*" "${cache}/.*")
if(entries)
  message(FATAL_ERROR "the cache directory is not empty: ${entries}")
endif()
set(want "[kernel_cache] ${cache}: not used: it is writable by group or others (mode 0777)")
string(FIND "${err}" "${want}" first)
string(FIND "${err}" "[kernel_cache]" first_any)
string(FIND "${err}" "[kernel_cache]" last_any REVERSE)
if(first EQUAL -1 OR NOT first_any EQUAL last_any)
  message(FATAL_ERROR "expected one warning, '${want}...'; stderr:\n${err}")
endif()
