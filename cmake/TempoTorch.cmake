# Which LibTorch tempo builds against: one switch, TEMPO_TORCH.
#
#   TEMPO_TORCH=wheel              the LibTorch inside the `torch` wheel of TEMPO_PYTHON (default:
#                                  .venv/bin/python of the source tree, which scripts/install_deps.sh
#                                  makes with torch 2.13.0; else python3 on PATH)
#   TEMPO_TORCH=debian             Debian's libtorch-dev (1.13 on Debian 12, 2.x on Debian 13)
#   TEMPO_TORCH=/path/to/libtorch  a folder unpacked from pytorch.org (or any folder holding
#                                  share/cmake/Torch, or TorchConfig.cmake itself)
#   TEMPO_TORCH unset              CMake's usual search: Torch_DIR or CMAKE_PREFIX_PATH if given,
#                                  else the system's (Debian's).
#
# One build folder holds one LibTorch: CMake caches every library path it found, so a folder
# configured for one LibTorch and then pointed at another would mix the two. That is refused
# with the way out named (another folder, TEMPO_BUILD_DIR=build-debian for the scripts).
#
# Ensures: Torch found; TEMPO_TORCH_DIR the folder of its TorchConfig.cmake; TEMPO_TORCH_VERSION;
# TEMPO_PYTHON the interpreter whose torch matches it (for the Python interop tests), when one does.

set(TEMPO_TORCH "" CACHE STRING "LibTorch to build against: wheel, debian, or a libtorch folder (empty: Torch_DIR/CMAKE_PREFIX_PATH)")
set(TEMPO_PYTHON "" CACHE FILEPATH "Python whose torch wheel gives the LibTorch (TEMPO_TORCH=wheel) and runs the interop tests")

function(_tempo_python_torch python out_prefix out_error)
  execute_process(
    COMMAND ${python} -c "import sys, torch; sys.stdout.write(torch.utils.cmake_prefix_path)"
    RESULT_VARIABLE rc OUTPUT_VARIABLE prefix ERROR_VARIABLE error)
  if(rc EQUAL 0)
    set(${out_prefix} "${prefix}" PARENT_SCOPE)
  else()
    string(REGEX REPLACE "\n$" "" error "${error}")
    string(REGEX REPLACE ".*\n" "" error "${error}")  # the last line: the exception
    set(${out_prefix} "" PARENT_SCOPE)
    set(${out_error} "${error}" PARENT_SCOPE)
  endif()
endfunction()

if(TEMPO_TORCH STREQUAL "wheel" AND NOT TEMPO_PYTHON AND EXISTS ${PROJECT_SOURCE_DIR}/.venv/bin/python)
  set(TEMPO_PYTHON ${PROJECT_SOURCE_DIR}/.venv/bin/python CACHE FILEPATH "" FORCE)
endif()

if(TEMPO_TORCH STREQUAL "wheel")
  set(python ${TEMPO_PYTHON})
  if(NOT python)
    find_program(python NAMES python3 python)
  endif()
  _tempo_python_torch("${python}" prefix error)
  if(NOT prefix)
    message(FATAL_ERROR "TEMPO_TORCH=wheel: '${python}' cannot import torch (${error}); "
                        "scripts/install_deps.sh makes .venv with torch 2.13.0, or set TEMPO_PYTHON to a Python that has torch")
  endif()
  set(_tempo_torch_dir ${prefix}/Torch)
elseif(TEMPO_TORCH STREQUAL "debian")
  set(_tempo_torch_dir /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
  if(NOT EXISTS ${_tempo_torch_dir}/TorchConfig.cmake)
    message(FATAL_ERROR "TEMPO_TORCH=debian: no ${_tempo_torch_dir}/TorchConfig.cmake; apt install libtorch-dev")
  endif()
elseif(TEMPO_TORCH)
  foreach(candidate ${TEMPO_TORCH}/share/cmake/Torch ${TEMPO_TORCH})
    if(EXISTS ${candidate}/TorchConfig.cmake)
      set(_tempo_torch_dir ${candidate})
      break()
    endif()
  endforeach()
  if(NOT _tempo_torch_dir)
    message(FATAL_ERROR "TEMPO_TORCH='${TEMPO_TORCH}': expected wheel, debian, or a LibTorch folder holding "
                        "share/cmake/Torch/TorchConfig.cmake (as pytorch.org's libtorch zip unpacks)")
  endif()
endif()
if(_tempo_torch_dir)
  get_filename_component(_tempo_torch_dir ${_tempo_torch_dir} REALPATH)
  set(_tempo_configured_dir ${TEMPO_TORCH_DIR})
  if(NOT _tempo_configured_dir AND Torch_DIR)  # a folder configured before TEMPO_TORCH existed
    get_filename_component(_tempo_configured_dir ${Torch_DIR} REALPATH)
  endif()
  if(_tempo_configured_dir AND NOT _tempo_configured_dir STREQUAL _tempo_torch_dir)
    message(FATAL_ERROR "${CMAKE_BINARY_DIR} was configured for the LibTorch in ${_tempo_configured_dir}, not "
                        "${_tempo_torch_dir}: use another build folder for it (scripts: TEMPO_BUILD_DIR=build-<name>) "
                        "or delete ${CMAKE_BINARY_DIR}/CMakeCache.txt")
  endif()
endif()

include(${CMAKE_CURRENT_LIST_DIR}/TempoFindTorch.cmake)
tempo_find_torch("${_tempo_torch_dir}" ${CMAKE_BINARY_DIR}/torch-include)
get_filename_component(_tempo_found_dir ${Torch_DIR} REALPATH)
set(TEMPO_TORCH_DIR ${_tempo_found_dir} CACHE INTERNAL "The LibTorch this build folder uses")
set(TEMPO_TORCH_VERSION ${Torch_VERSION})
if(NOT TEMPO_TORCH_VERSION)  # Debian 12's TorchConfig leaves it empty; its headers know it
  file(STRINGS ${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include/torch/version.h _v REGEX "define TORCH_VERSION ")
  if(NOT _v)
    file(STRINGS /usr/include/torch/csrc/api/include/torch/version.h _v REGEX "define TORCH_VERSION ")
  endif()
  string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" TEMPO_TORCH_VERSION "${_v}")
endif()
message(STATUS "tempo: LibTorch ${TEMPO_TORCH_VERSION} from ${TEMPO_TORCH_DIR}")


# The Python for the interop tests, when TEMPO_PYTHON names none: Debian's (python3-torch, the
# same torch as Debian's LibTorch), else the venv's torch 2.13, which then reads checkpoints
# written by another LibTorch, as users' mixed installations do.
if(NOT TEMPO_PYTHON)
  foreach(candidate /usr/bin/python3 ${PROJECT_SOURCE_DIR}/.venv/bin/python)
    _tempo_python_torch(${candidate} prefix error)
    if(prefix)
      set(TEMPO_PYTHON ${candidate} CACHE FILEPATH "" FORCE)
      break()
    endif()
  endforeach()
endif()
