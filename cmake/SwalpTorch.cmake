# Locates libtorch in one of two ways and defines the imported target swalp::torch:
#  1. a Torch CMake config (pip/conda torch: pass CMAKE_PREFIX_PATH from
#     `python3 -c "import torch; print(torch.utils.cmake_prefix_path)"`), or
#  2. Debian's libtorch-dev, which ships no CMake config: headers in the system include
#     directory and its torch/csrc/api/include subfolder, libraries torch, torch_cpu, c10.
# SWALP_TORCH=AUTO uses whichever is found; ON makes a missing libtorch an error; OFF skips it.
set(SWALP_TORCH_FOUND OFF)
set(SWALP_TORCH_SOURCE "none")

if(NOT SWALP_TORCH STREQUAL "OFF")
  find_package(Torch QUIET CONFIG)
  if(Torch_FOUND)
    add_library(swalp::torch INTERFACE IMPORTED)
    target_link_libraries(swalp::torch INTERFACE ${TORCH_LIBRARIES})
    target_include_directories(swalp::torch INTERFACE ${TORCH_INCLUDE_DIRS})
    set(SWALP_TORCH_FOUND ON)
    set(SWALP_TORCH_SOURCE "Torch CMake config (${Torch_DIR})")
  else()
    find_path(SWALP_TORCH_INCLUDE_DIR torch/csrc/api/include/torch/torch.h)
    find_library(SWALP_TORCH_LIB torch)
    find_library(SWALP_TORCH_CPU_LIB torch_cpu)
    find_library(SWALP_C10_LIB c10)
    if(SWALP_TORCH_INCLUDE_DIR AND SWALP_TORCH_LIB AND SWALP_TORCH_CPU_LIB AND SWALP_C10_LIB)
      add_library(swalp::torch INTERFACE IMPORTED)
      target_include_directories(swalp::torch INTERFACE
        ${SWALP_TORCH_INCLUDE_DIR} ${SWALP_TORCH_INCLUDE_DIR}/torch/csrc/api/include)
      target_link_libraries(swalp::torch INTERFACE
        ${SWALP_TORCH_LIB} ${SWALP_TORCH_CPU_LIB} ${SWALP_C10_LIB})
      set(SWALP_TORCH_FOUND ON)
      set(SWALP_TORCH_SOURCE "system libtorch (${SWALP_TORCH_LIB})")
    endif()
  endif()
endif()

if(SWALP_TORCH STREQUAL "ON" AND NOT SWALP_TORCH_FOUND)
  message(FATAL_ERROR "SWALP_TORCH=ON but libtorch was not found: install Debian's libtorch-dev "
                      "or set CMAKE_PREFIX_PATH to torch.utils.cmake_prefix_path")
endif()
message(STATUS "swalp: libtorch: ${SWALP_TORCH_SOURCE}")
