# -DKILN_SANITIZE=address,undefined (any -fsanitize= list) builds everything of kiln's with those
# sanitizers: the CI's second build tree (tools/sanitize.sh). A program linking kiln's static
# libraries needs the sanitizers' run-time libraries, so kiln_base, which every library of the
# installed package links, carries the flag to them (base/CMakeLists.txt).
set(KILN_SANITIZE "" CACHE STRING "Sanitizers for kiln's own code, as for -fsanitize= (e.g. address,undefined)")
if(KILN_SANITIZE)
  message(STATUS "kiln: sanitizers ${KILN_SANITIZE}")
  add_compile_options(-fsanitize=${KILN_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${KILN_SANITIZE})
endif()
