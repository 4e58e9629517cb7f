# --checkpoint and --resume for the physics-informed examples (ProblemTrainer): a run of 200
# Adam iterations saves its state; the same command with --epochs 300 --resume says where it
# goes on from and trains the 100 left. Called by ctest:
#   cmake -DEXE=<pinn_heat> -DOUT=<folder> -P pinn_resume.cmake
cmake_policy(VERSION 3.20)
file(REMOVE_RECURSE "${OUT}")
set(ckpt "${OUT}/heat.safetensors")
set(small --lbfgs 2 --interior 32 --boundary 8 --initial 8 --width 8 --out "${OUT}"
          --checkpoint "${ckpt}")

include(${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)
function(run expect_stderr)
  run_example("${expect_stderr}" "${EXE}" ${small} ${ARGN})
  if(NOT out MATCHES "result: .*rel_l2=")
    message(FATAL_ERROR "${EXE} ${ARGN}: no result line:\n${out}")
  endif()
endfunction()

run("" --epochs 200 --resume)
if(NOT EXISTS "${ckpt}")
  message(FATAL_ERROR "--checkpoint did not write ${ckpt}")
endif()
# 200 Adam iterations, then L-BFGS's (at most 2): the checkpoint after L-BFGS counts them all.
run("resumed from ${ckpt} after iteration 20" --epochs 300 --resume)
