# `find_package(loom)` + `target_link_libraries(app loom::loom)` for outside projects.
include(CMakePackageConfigHelpers)
install(TARGETS loom EXPORT loomTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/loom DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/capi/include/loom/loom.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/loom)
install(EXPORT loomTargets NAMESPACE loom:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/loom)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/loomConfig.cmake.in
  ${PROJECT_BINARY_DIR}/loomConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/loom)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/loomConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/loomConfig.cmake ${PROJECT_BINARY_DIR}/loomConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/loom)

# The Python package (bindings/python/loom, pure Python over the C ABI) beside the library, for
# Debian's python3: into PREFIX/lib/python3.X/dist-packages, which Debian's interpreter searches
# for the prefixes /usr/local and /usr (another prefix: PYTHONPATH=PREFIX/lib/python3.X/dist-packages).
# The installed copy records where libloom is (loom/_install_paths.py, written at install time so
# that `cmake --install --prefix` and DESTDIR are honoured): it needs no LOOM_LIBRARY.
if(NOT LOOM_PYTHON_INSTALL_DIR)
  set(loom_python_for_install "${Python3_EXECUTABLE}")
  if(NOT loom_python_for_install AND EXISTS /usr/bin/python3)
    set(loom_python_for_install /usr/bin/python3)
  endif()
  set(loom_python_version 3)
  if(loom_python_for_install)
    execute_process(COMMAND ${loom_python_for_install} -c "import sys; print('%d.%d' % sys.version_info[:2])"
                    OUTPUT_VARIABLE loom_python_found_version OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE loom_python_rc ERROR_QUIET)
    if(loom_python_rc EQUAL 0 AND loom_python_found_version MATCHES "^3\\.[0-9]+$")
      set(loom_python_version ${loom_python_found_version})
    endif()
  endif()
  set(LOOM_PYTHON_INSTALL_DIR "lib/python${loom_python_version}/dist-packages" CACHE STRING
      "Where cmake --install puts the Python package (relative to the prefix, or absolute)")
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/python/loom DESTINATION ${LOOM_PYTHON_INSTALL_DIR}
        PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE PATTERN "_install_paths.py" EXCLUDE)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(loom_python_libdir "${CMAKE_INSTALL_LIBDIR}")
else()
  set(loom_python_libdir "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${LOOM_PYTHON_INSTALL_DIR}")
  set(loom_python_pkgdir "${LOOM_PYTHON_INSTALL_DIR}/loom")
else()
  set(loom_python_pkgdir "\${CMAKE_INSTALL_PREFIX}/${LOOM_PYTHON_INSTALL_DIR}/loom")
endif()
install(CODE "
  set(loom_install_paths \"\$ENV{DESTDIR}${loom_python_pkgdir}/_install_paths.py\")
  message(STATUS \"Installing: \${loom_install_paths}\")
  file(WRITE \"\${loom_install_paths}\"
       \"# Written by cmake --install: the folder of the libloom this package was installed with.\\nLIBRARY_DIR = r'${loom_python_libdir}'\\n\")
")
