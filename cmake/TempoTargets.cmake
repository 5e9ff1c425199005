# The few ways a target is made here, each written once.

# tempo_program(<name> SOURCES <files> [LIBRARIES <targets>] [DEFINITIONS <defs>])
# An executable over tempo (tempo::tempo unless LIBRARIES names others), with tempo's warnings
# and LibTorch's precompiled header (shared with the library: parsing <torch/torch.h> once per
# target would cost about a minute each).
function(tempo_program name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBRARIES;DEFINITIONS" ${ARGN})
  if(NOT P_LIBRARIES)
    set(P_LIBRARIES tempo)
  endif()
  add_executable(${name} ${P_SOURCES})
  target_link_libraries(${name} PRIVATE ${P_LIBRARIES})
  target_compile_options(${name} PRIVATE ${TEMPO_WARNINGS})
  target_compile_definitions(${name} PRIVATE ${P_DEFINITIONS})
  target_precompile_headers(${name} REUSE_FROM tempo)
endfunction()

# tempo_benchmark(<name>): benchmarks/<name>.cpp; TEMPO_BENCH_DIR names benchmarks/ for its
# Python peers and RESULTS.md, TEMPO_PYTHON the Python whose torch is tempo's LibTorch.
function(tempo_benchmark name)
  tempo_program(${name} SOURCES ${name}.cpp
    DEFINITIONS TEMPO_BENCH_DIR="${CMAKE_CURRENT_SOURCE_DIR}" TEMPO_PYTHON="${TEMPO_PYTHON}")
endfunction()

# tempo_test(<name> SOURCES <files> [TORCH_FREE] [LIBRARIES <targets>] [SUITES <suites>])
# A doctest binary, registered with CTest once per doctest suite named in SUITES (so ctest runs
# and reports them apart), or once under <name> without SUITES. TORCH_FREE: the sources build
# without LibTorch (time/, util/), so no precompiled header and a link in seconds.
# Every test sees TEMPO_SOURCE_DIR and TEMPO_PYTHON (tests/support/python.h).
function(tempo_test name)
  cmake_parse_arguments(T "TORCH_FREE" "" "SOURCES;LIBRARIES;SUITES" ${ARGN})
  add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/doctest_main.cpp ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_BINARY_DIR}/include ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${name} PRIVATE ${TEMPO_WARNINGS})
  target_compile_definitions(${name} PRIVATE TEMPO_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                             TEMPO_PYTHON="${TEMPO_PYTHON}")
  target_link_libraries(${name} PRIVATE doctest::doctest ${T_LIBRARIES})
  if(NOT T_TORCH_FREE)
    target_precompile_headers(${name} REUSE_FROM tempo)
  endif()
  if(T_SUITES)
    foreach(suite ${T_SUITES})
      add_test(NAME ${suite} COMMAND ${name} --test-suite=${suite})
    endforeach()
  else()
    add_test(NAME ${name} COMMAND ${name})
  endif()
endfunction()
