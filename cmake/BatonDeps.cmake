#  BatonDeps.cmake - finds every dependency with pkg-config and, when one is
#  missing, says which Debian package brings it (scripts/install-deps does).
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' (or run scripts/install-deps)")
endif()

#  baton_require(<target-name> <pkg-config module> <debian package>)
#  Creates the imported target PkgConfig::<target-name> or stops with a clear message.
function(baton_require name module debpkg)
  pkg_check_modules(${name} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "Baton needs ${module} (pkg-config module not found). "
                        "Install the Debian package '${debpkg}', or run: sudo scripts/install-deps")
  endif()
  message(STATUS "Found ${module} ${${name}_VERSION}")
endfunction()

baton_require(ZMQ     libzmq   libzmq3-dev)
baton_require(CZMQ    libczmq  libczmq-dev)
baton_require(MSGPACK msgpack  libmsgpack-dev)
baton_require(UV      libuv    libuv1-dev)
baton_require(YAML    yaml-0.1 libyaml-dev)
if(BATON_TESTS)
  baton_require(CRITERION criterion libcriterion-dev)
  baton_require(CURL      libcurl   libcurl4-openssl-dev)
  baton_require(JANSSON   jansson   libjansson-dev)
endif()
