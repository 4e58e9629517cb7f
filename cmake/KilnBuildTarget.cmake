# Script mode (cmake -P): builds TARGET in BINARY_DIR.
# KIND=ok: exits with the build's status. KIND=ko: exits non-zero only when the build failed AND
# its output matches EXPECT (so a ko that fails for the wrong reason makes the WILL_FAIL test red).
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(KIND STREQUAL "ok")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TARGET} should compile but did not:\n${out}")
  endif()
  return()
endif()
if(rc EQUAL 0)
  message("${TARGET} compiled, but it should not have")
  return()
endif()
if(NOT out MATCHES "${EXPECT}")
  message("${TARGET} failed to compile, but not with the expected message /${EXPECT}/:\n${out}")
  return()
endif()
message(FATAL_ERROR "${TARGET} failed to compile as expected (/${EXPECT}/)")
