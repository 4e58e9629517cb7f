# kiln_add_kernels(<target> GENERATOR <generator.cpp> NAME <name> [CUDA]
#                  [ARGS <args>...] [DEPENDS <files>...] [OUT_DIR <folder>])
#
# Ahead-of-time kernels, in the pattern of Halide's generators. Builds <generator.cpp> (a program
# whose main() calls kiln::aot::generator_main, see aot/generator.h) against kiln, runs it
# at build time as
#     <generator> --name <name> --out-dir <OUT_DIR> <ARGS>...
# and adds the files it writes, <name>.h and <name>.cpp, to the existing library or executable
# <target>, with OUT_DIR as a PUBLIC include directory (#include "<name>.h"). The generated files
# need nothing from kiln: <target> does not link kiln. With CUDA, the generator also gets --cuda
# and writes <name>.cu, which is added too (the project must enable the CUDA language).
#
# The generator re-runs when its program changes (its source, or kiln itself) and when one of the
# DEPENDS files changes (e.g. a checkpoint named in ARGS). OUT_DIR defaults to
# ${CMAKE_CURRENT_BINARY_DIR}/kiln_kernels/<name>. The generator program's target is
# <target>_<name>_generator (e.g. to add sources or libraries to it).
#
# Works the same in kiln's tree and from an installed kiln (find_package(kiln)).
function(kiln_add_kernels target)
  cmake_parse_arguments(PARSE_ARGV 1 K "CUDA" "GENERATOR;NAME;OUT_DIR" "ARGS;DEPENDS")
  if(K_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "kiln_add_kernels(${target}): unknown arguments: ${K_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "kiln_add_kernels(${target}): no target named '${target}'; create it first "
                        "(add_library(${target} STATIC) or add_executable)")
  endif()
  if(NOT K_GENERATOR OR NOT K_NAME)
    message(FATAL_ERROR "kiln_add_kernels(${target}): GENERATOR <source> and NAME <name> are required")
  endif()
  if(NOT K_NAME MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "kiln_add_kernels(${target}): NAME '${K_NAME}' is not a C identifier")
  endif()
  if(NOT TARGET kiln::kiln_aot)
    message(FATAL_ERROR "kiln_add_kernels(${target}): kiln::kiln_aot is not defined; "
                        "call find_package(kiln) first")
  endif()
  set(cuda_flag "")
  if(K_CUDA)
    get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
    if(NOT "CUDA" IN_LIST languages)
      message(FATAL_ERROR "kiln_add_kernels(${target}): CUDA needs the CUDA language; add it to "
                          "project(... LANGUAGES CXX CUDA) or call enable_language(CUDA)")
    endif()
    set(cuda_flag --cuda)
  endif()
  if(NOT K_OUT_DIR)
    set(K_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/kiln_kernels/${K_NAME})
  endif()

  set(generator ${target}_${K_NAME}_generator)
  add_executable(${generator} ${K_GENERATOR})
  target_link_libraries(${generator} PRIVATE kiln::kiln_aot)

  set(outputs ${K_OUT_DIR}/${K_NAME}.h ${K_OUT_DIR}/${K_NAME}.cpp)
  if(K_CUDA)
    list(APPEND outputs ${K_OUT_DIR}/${K_NAME}.cu)
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${K_OUT_DIR}
    COMMAND ${generator} --name ${K_NAME} --out-dir ${K_OUT_DIR} ${cuda_flag} ${K_ARGS}
    DEPENDS ${generator} ${K_DEPENDS}
    COMMENT "kiln: generating the kernels of ${K_NAME}"
    VERBATIM)
  target_sources(${target} PRIVATE ${outputs})
  target_include_directories(${target} PUBLIC ${K_OUT_DIR})
endfunction()
