# Every third-party dependency of recbias, all from Debian 12 packages.
# scripts/common.sh installs the matching packages.
find_package(Boost 1.74 REQUIRED)                 # libboost-math-dev (header-only Boost.Math)
find_package(nlohmann_json 3.10 REQUIRED)         # nlohmann-json3-dev
find_package(CLI11 2.1 REQUIRED)                  # libcli11-dev
find_package(fmt 9 REQUIRED)                      # libfmt-dev
find_package(CURL REQUIRED)                       # libcurl4-openssl-dev (openai adapter)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)  # libssl-dev (SHA-256)
find_package(tomlplusplus 3 REQUIRED)             # libtomlplusplus-dev (policies and audit config files)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)  # libcpp-httplib-dev ships no CMake config
# libtorch: Debian's libtorch-dev (CPU) or any CUDA libtorch via CMAKE_PREFIX_PATH.
find_package(Torch REQUIRED)
if(RECBIAS_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)                 # catch2 (v2)
endif()
