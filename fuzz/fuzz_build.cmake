# Included from the top-level CMakeLists.txt when CORVID_FUZZ is ON (a clang build dir of its own,
# see FUZZING.md). Everything compiled in that build dir gets AddressSanitizer, UBSan (every
# finding fatal) and libFuzzer's coverage instrumentation, so the libraries the fuzz targets link
# are checked as closely as the targets themselves. Only fuzz/ targets are meant to be built there.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "CORVID_FUZZ needs clang (CC=clang CXX=clang++); this is ${CMAKE_CXX_COMPILER_ID}")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -Wno-unknown-warning-option)
add_link_options(-fsanitize=address,undefined)
add_subdirectory(${CMAKE_CURRENT_LIST_DIR} ${CMAKE_BINARY_DIR}/fuzz)
