# Runs Doxygen over the public headers and fails when it warns (an undocumented declaration, a
# documented parameter that does not exist, ...), printing the warnings.
file(REMOVE ${WARNINGS})
execute_process(COMMAND ${DOXYGEN} ${DOXYFILE} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "doxygen failed (${rc}): ${err}")
endif()
file(READ ${WARNINGS} warnings)
if(NOT warnings STREQUAL "")
  string(REGEX MATCHALL "\n" lines "${warnings}")
  list(LENGTH lines count)
  message(FATAL_ERROR "Doxygen reports ${count} problems in the public headers:\n${warnings}")
endif()
message(STATUS "every public declaration is documented")
