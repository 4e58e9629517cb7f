# --checkpoint and --resume, as a user resumes a killed run: the same command again with
# --resume trains what is left of --epochs, and the CSV log goes on where it was. Called by ctest:
#   cmake -DEXE=<regression_1d> -DOUT=<folder> [-DLAUNCH="mpiexec|-n|2|..."] -P resume.cmake
# With LAUNCH, the first and the last run are data-parallel (LAUNCH EXE --distributed) and the
# second resumes in one process: a checkpoint does not depend on the number of ranks.
cmake_policy(VERSION 3.20)
file(REMOVE_RECURSE "${OUT}")
set(ckpt "${OUT}/run.safetensors")
string(REPLACE "|" ";" LAUNCH "${LAUNCH}")

include(${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)
function(run expect_stderr)
  set(cmd "${EXE}")
  if(distributed)
    set(cmd ${LAUNCH} "${EXE}" --distributed)
  endif()
  run_example("${expect_stderr}" ${cmd} ${ARGN} --out "${OUT}")
endfunction()

# Epoch 1, as if the run had been killed then; --resume with no checkpoint yet starts afresh.
set(distributed "${LAUNCH}")
run("" --epochs 1 --checkpoint "${ckpt}" --resume)
if(NOT EXISTS "${ckpt}")
  message(FATAL_ERROR "--checkpoint did not write ${ckpt}")
endif()
set(distributed "")
# The same command for 3 epochs: 2 more, logged after epoch 0 (the untrained network) and 1.
run("resumed from ${ckpt} after epoch 1" --epochs 3 --checkpoint "${ckpt}" --resume)
file(STRINGS "${OUT}/regression_1d.csv" log)
list(TRANSFORM log REPLACE ",.*" "")
if(NOT log STREQUAL "epoch;0;1;2;3")
  message(FATAL_ERROR "the log's epochs are '${log}', expected epoch;0;1;2;3")
endif()
# Done: nothing is left to train.
set(distributed "${LAUNCH}")
run("resumed from ${ckpt} after epoch 3" --epochs 3 --checkpoint "${ckpt}" --resume)
