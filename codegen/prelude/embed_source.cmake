# cmake -DINPUT=<header> -DTEMPLATE=<.cpp.in> -DOUTPUT=<.cpp> -P embed_source.cmake
# Writes the header's text into a raw string literal. The output is only touched when its text
# changes, so an unchanged header does not rebuild what depends on it.
set(DELIMITER "kiln_src")
file(READ "${INPUT}" CONTENT)
string(FIND "${CONTENT}" ")${DELIMITER}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "[embed_source] ${INPUT}: the text contains the raw-string end )${DELIMITER}\"; "
                      "change DELIMITER in embed_source.cmake")
endif()
configure_file("${TEMPLATE}" "${OUTPUT}" @ONLY)
