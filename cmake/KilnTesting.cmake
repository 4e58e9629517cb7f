# Test helpers. Catch2 v2 (Debian 12) has no SKIP(): a test case that cannot run here (no GPU)
# ends with KILN_SKIP (tests/support/skip.h), which prints KILN_TEST_SKIPPED, and ctest reports
# it as skipped, not passed.
include(CTest)
include(Catch)

# kiln_add_test(<name> SOURCES <files...> LIBS <targets...> [LABELS <labels...>])
# Builds one Catch2 executable and registers each of its TEST_CASEs with ctest.
function(kiln_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} Catch2::Catch2WithMain kiln_warnings)
  target_compile_definitions(${name} PRIVATE KILN_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                             KILN_BINARY_DIR="${PROJECT_BINARY_DIR}")
  set(props PROPERTIES SKIP_REGULAR_EXPRESSION "KILN_TEST_SKIPPED")
  if(T_LABELS)
    list(APPEND props LABELS "${T_LABELS}")
  endif()
  catch_discover_tests(${name} TEST_PREFIX "${name}:" ${props})
endfunction()

# kiln_add_compile_fail_test(<name> SOURCE <file> LIBS <targets...> EXPECT <regex>)
# Eigen-style ok/ko pair. The source is built twice: <name>_ok as it is (must compile), and
# <name>_ko with KILN_SHOULD_FAIL_TO_BUILD defined. ctest builds the ko target itself and
# the test is WILL_FAIL: it passes only when that build fails with a diagnostic matching EXPECT.
function(kiln_add_compile_fail_test name)
  cmake_parse_arguments(T "" "SOURCE;EXPECT" "LIBS" ${ARGN})
  foreach(kind ok ko)
    add_library(${name}_${kind} OBJECT EXCLUDE_FROM_ALL ${T_SOURCE})
    target_link_libraries(${name}_${kind} PRIVATE ${T_LIBS})
  endforeach()
  target_compile_definitions(${name}_ko PRIVATE KILN_SHOULD_FAIL_TO_BUILD)
  foreach(kind ok ko)
    add_test(NAME compile_fail:${name}_${kind}
             COMMAND ${CMAKE_COMMAND} -DTARGET=${name}_${kind} -DBINARY_DIR=${PROJECT_BINARY_DIR}
                     -DEXPECT=${T_EXPECT} -DKIND=${kind}
                     -P ${PROJECT_SOURCE_DIR}/cmake/KilnBuildTarget.cmake)
    set_tests_properties(compile_fail:${name}_${kind} PROPERTIES LABELS compile_fail)
  endforeach()
  set_tests_properties(compile_fail:${name}_ko PROPERTIES WILL_FAIL TRUE)
endfunction()
