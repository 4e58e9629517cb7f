# run_example(<expect_stderr> <command...>): what the resume scripts share. Runs the command and
# fails on a non-zero status; a run that resumes says from where (`expect_stderr`, which must be
# on stderr), one that does not ("") says nothing about resuming. Sets `out` (stdout) in the
# caller's scope.
function(run_example expect_stderr)
  string(JOIN " " command ${ARGN})
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE err
                  TIMEOUT 300)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${command} exited with '${rc}'; stderr:\n${err}")
  endif()
  string(FIND "${err}" "resumed" said)
  string(FIND "${err}" "${expect_stderr}" at)
  if((expect_stderr STREQUAL "" AND NOT said EQUAL -1) OR at EQUAL -1)
    message(FATAL_ERROR "${command}: expected '${expect_stderr}' on stderr:\n${err}")
  endif()
  set(out "${stdout}" PARENT_SCOPE)
endfunction()
