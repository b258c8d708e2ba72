# The runtime builds, tests and installs without the compiler: configures
# mstream with MSTREAM_BUILD_COMPILER=OFF in BIN, builds it, runs its tests
# and installs it into BIN/install. Run by ctest as runtime_only_build.
#   cmake -DSRC=... -DBIN=... -DWERROR=ON|OFF -P runtime-only.cmake
foreach(step
    "${CMAKE_COMMAND};-S;${SRC};-B;${BIN};-G;Ninja;-DMSTREAM_BUILD_COMPILER=OFF;-DMSTREAM_WERROR=${WERROR}"
    "${CMAKE_COMMAND};--build;${BIN}"
    "${CMAKE_CTEST_COMMAND};--test-dir;${BIN};--output-on-failure"
    "${CMAKE_COMMAND};--install;${BIN};--prefix;${BIN}/install"
    "${BIN}/install/bin/mstream;--version")
  execute_process(COMMAND ${step} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "runtime-only build: '${step}' failed (${result})")
  endif()
endforeach()
