# cuda_emu.cmake — -DDITC_CUDA_EMU=ON: the CUDA backend built for a CPU emulation of the device (tests/cuda_emu/),
# so the gpu tests (test_gpu_parity, test_gpu_train) run here without a GPU. backend_cuda/*.cu are rewritten by
# cuemu_rewrite (launches, shared memory, __CUDA_ARCH__) and compiled as C++ against the CUDA toolkit's headers; the
# runtime, cuBLAS and cuBLASLt calls are cuemu's. Nothing from libcudart or libcublas is linked. Slow (every GPU
# thread is a fiber): for toy sizes. Results say nothing about speed and do not replace a run on a real GPU.
enable_language(CXX)
find_package(CUDAToolkit REQUIRED) # headers only
if(DITC_SANITIZE)
  message(FATAL_ERROR "DITC_CUDA_EMU: not with DITC_SANITIZE (the emulation switches stacks)")
endif()
set(_emu ${CMAKE_SOURCE_DIR}/tests/cuda_emu)
add_executable(cuemu_rewrite ${_emu}/cuemu_rewrite.c)
file(GLOB _cuda_src CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/backend_cuda/*.cu)
# cuemu_rewritten(OUT_VAR OPTIONS file.cu...): the rewritten C++ sources (build tree, cuemu/<name>.cc), compiled with
# cuemu_device.h force-included and the extra compile OPTIONS (a ;-list, may be empty)
function(cuemu_rewritten out options)
  set(_list)
  foreach(_cu ${ARGN})
    get_filename_component(_name ${_cu} NAME_WE)
    set(_cc ${CMAKE_BINARY_DIR}/cuemu/${_name}.cc)
    add_custom_command(OUTPUT ${_cc} COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/cuemu
                       COMMAND cuemu_rewrite ${_cu} ${_cc} DEPENDS cuemu_rewrite ${_cu} VERBATIM)
    set_source_files_properties(${_cc} PROPERTIES COMPILE_OPTIONS
                                "-include;${CMAKE_SOURCE_DIR}/tests/cuda_emu/cuemu_device.h;${options}")
    list(APPEND _list ${_cc})
  endforeach()
  set(${out} ${_list} PARENT_SCOPE)
endfunction()
# -DDITC_CUDA_EMU_RACECHECK=ON: the kernels also under ThreadSanitizer, each GPU thread of a block a TSan fiber
# (cuemu_sched.cc tells TSan what orders them: barriers, mma_sync, the launch; not shuffles): a read and a write,
# or two writes, of the same shared or global memory by two threads of a block that no barrier orders is reported
# as a data race, whether or not it changed a result — compute-sanitizer's racecheck on the CPU, plus global
# memory. Only the rewritten kernels are instrumented; the emulation itself and the CPU backend are not (run with
# OMP_NUM_THREADS=1: TSan cannot see OpenMP's synchronisation).
# (misaligned accesses — a uint4 load from an address not 16-byte aligned faults on a GPU, not on x86: UBSan's
# alignment check on the kernels, fatal)
set(_emu_san "-fsanitize=alignment;-fno-sanitize-recover=alignment")
if(DITC_CUDA_EMU_RACECHECK)
  list(APPEND _emu_san -fsanitize=thread -g)
endif()
cuemu_rewritten(_emu_src "${_emu_san}" ${_cuda_src})
add_library(ditc_backend_cuda STATIC ${_emu_src} ${_emu}/cuemu_sched.cc ${_emu}/cuemu_runtime.cc
                                     ${_emu}/cuemu_blas.cc)
if(DITC_CUDA_EMU_RACECHECK)
  set_source_files_properties(${_emu}/cuemu_sched.cc PROPERTIES COMPILE_DEFINITIONS CUEMU_TSAN=1)
  target_link_options(ditc_backend_cuda PUBLIC -fsanitize=thread)
endif()
target_include_directories(ditc_backend_cuda PRIVATE ${_emu} ${CMAKE_SOURCE_DIR}/backend_cuda
                           ${CUDAToolkit_INCLUDE_DIRS} ${DITC_CBLAS_INCLUDE_DIR})
target_compile_options(ditc_backend_cuda PRIVATE -std=c++17 -Wall -Wextra -Wno-unknown-pragmas
                       -Wno-unused-parameter $<$<BOOL:${DITC_WERROR}>:-Werror>)
target_link_libraries(ditc_backend_cuda PUBLIC ditc_tensor OpenMP::OpenMP_C ${BLAS_LIBRARIES})
target_link_options(ditc_backend_cuda PUBLIC -fsanitize=alignment)
target_compile_definitions(ditc_backend_cuda PUBLIC DITC_HAVE_CUDA=1 DITC_CUDA_EMU=1)

# -DDITC_NCCL=ON with the emulation: comm/comm_nccl.cu (rewritten like the backend) on cuemu_nccl.cc's NCCL over MPI;
# CUEMU_DEVICES=N gives each of N ranks a device of its own, so `--comm nccl` runs.
macro(cuemu_nccl)
  cuemu_rewritten(_nccl_src "" ${CMAKE_SOURCE_DIR}/comm/comm_nccl.cu)
  target_sources(ditc_comm PRIVATE ${_nccl_src} ${CMAKE_SOURCE_DIR}/tests/cuda_emu/cuemu_nccl.cc)
  target_include_directories(ditc_comm PRIVATE ${CMAKE_SOURCE_DIR}/tests/cuda_emu ${CUDAToolkit_INCLUDE_DIRS})
  target_compile_options(ditc_comm PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-std=c++17 -Wall -Wextra -Wno-unknown-pragmas
                         -Wno-unused-parameter $<$<BOOL:${DITC_WERROR}>:-Werror>>)
  target_link_libraries(ditc_comm PUBLIC ditc_backend_cuda)
  target_compile_definitions(ditc_comm PUBLIC DITC_HAVE_NCCL=1)
endmacro()
