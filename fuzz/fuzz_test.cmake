# Included from the top-level CMakeLists.txt in the normal build (CORVID_FUZZ OFF): the ctest entry
# that builds the fuzz targets in their own clang build dir (<build>/fuzz-clang/) and runs each briefly.
# Skipped (exit 77) when clang and libFuzzer cannot be installed. ctest -L fuzz runs only this.
add_test(NAME fuzz.smoke COMMAND ${PROJECT_SOURCE_DIR}/scripts/fuzz-smoke)
set_tests_properties(fuzz.smoke PROPERTIES
  LABELS fuzz
  TIMEOUT 900
  SKIP_RETURN_CODE 77
  PROCESSORS 2
  # A clang build dir per normal build dir, so two checkouts or build types never share one.
  ENVIRONMENT FUZZ_BUILD_DIR=${CMAKE_BINARY_DIR}/fuzz-clang)
