# tests.cmake — ctest registration. GPU/MPI tests exit 77 when those are absent (SKIP_RETURN_CODE 77).
function(ditc_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;ARGS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ditc_core)
  target_include_directories(${name} PRIVATE tests)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT ${T_TIMEOUT})
endfunction()

ditc_test(test_rng SOURCES tests/test_rng.c)
# TensorBoard event files (core/util/tfevents.c): CRC32C, a C re-parse, corruption and write errors; then the
# file read back by TensorBoard's own Python reader (skipped without tensorboard: scripts/install-deps.sh).
ditc_test(test_tfevents SOURCES tests/test_tfevents.c TIMEOUT 60)
add_test(NAME test_tfevents_reader COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_tfevents.sh $<TARGET_FILE:test_tfevents>
         ${CMAKE_SOURCE_DIR})
set_tests_properties(test_tfevents_reader PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
# The layering of the source tree: no upward include between layer folders, no include cycle (check_layers.py).
find_program(DITC_PYTHON3 python3 REQUIRED)
add_test(NAME test_layers COMMAND ${DITC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/check_layers.py ${CMAKE_SOURCE_DIR})
# Every C/CUDA source formatted as .clang-format says (skipped without clang-format).
add_test(NAME test_format COMMAND bash ${CMAKE_SOURCE_DIR}/tests/check_format.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(test_format PROPERTIES SKIP_RETURN_CODE 77)
ditc_test(test_safetensors SOURCES tests/test_safetensors.c)
ditc_test(test_op_grads_odd SOURCES tests/test_op_grads.c ARGS odd)
add_test(NAME test_op_grads_dit COMMAND test_op_grads_odd dit)
set_tests_properties(test_op_grads_dit PROPERTIES TIMEOUT 900)
# The same gradient checks with attention as GEMMs + row softmax (core/ops/ops_attention_gemm.c, the default on GPUs
# at tf32/bf16): whole heads per GEMM batch, then head chunks (a 0.3 MiB score budget: one head per chunk at T = 256,
# 2 + 1 heads at T = 129).
add_test(NAME test_op_grads_attn_gemm COMMAND test_op_grads_odd odd)
add_test(NAME test_op_grads_attn_gemm_chunks COMMAND test_op_grads_odd dit)
set_tests_properties(test_op_grads_attn_gemm PROPERTIES ENVIRONMENT "DITC_ATTN=gemm")
set_tests_properties(test_op_grads_attn_gemm_chunks PROPERTIES TIMEOUT 900 ENVIRONMENT
                     "DITC_ATTN=gemm;DITC_ATTN_SCORE_MB=0.3")
ditc_test(test_autograd SOURCES tests/test_autograd.c)

# libFuzzer on the safetensors reader (clang only): the seed corpus (valid + malformed files) is written by
# test_safetensors, then the fuzzer runs for DITC_FUZZ_SECONDS and must not crash.
if(DITC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DITC_FUZZ needs clang (CC=clang)")
  endif()
  add_executable(fuzz_safetensors tests/fuzz_safetensors.c core/util/safetensors.c core/util/json.c
                 core/util/dtype.c core/util/common.c core/util/fs.c)
  target_include_directories(fuzz_safetensors PRIVATE core/util)
  target_compile_options(fuzz_safetensors PRIVATE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_options(fuzz_safetensors PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_safetensors PRIVATE m)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz-seeds ${CMAKE_BINARY_DIR}/fuzz-work)
  add_test(NAME fuzz_seed_corpus COMMAND test_safetensors ${CMAKE_BINARY_DIR}/fuzz-seeds)
  set_tests_properties(fuzz_seed_corpus PROPERTIES FIXTURES_SETUP fuzz_seeds)
  add_test(NAME fuzz_safetensors COMMAND fuzz_safetensors -max_total_time=${DITC_FUZZ_SECONDS} -max_len=65536
           -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 ${CMAKE_BINARY_DIR}/fuzz-work ${CMAKE_BINARY_DIR}/fuzz-seeds)
  math(EXPR _fuzz_timeout "${DITC_FUZZ_SECONDS} + 120")
  set_tests_properties(fuzz_safetensors PROPERTIES FIXTURES_REQUIRED fuzz_seeds TIMEOUT ${_fuzz_timeout})
  # The same for the torch.save reader (zip and legacy formats + restricted unpickler + tensor views); seeds in
  # tests/fuzz/torch_pt (tests/reference/make_pt_files.py seeds). scripts/test.sh runs both fuzz tests at once.
  add_executable(fuzz_torch_pt tests/fuzz_torch_pt.c core/util/torch_pt.c core/util/torch_pt_legacy.c
                 core/util/pickle.c core/util/zipread.c core/util/safetensors.c core/util/json.c core/util/dtype.c
                 core/util/common.c core/util/fs.c)
  target_include_directories(fuzz_torch_pt PRIVATE core/util)
  target_compile_options(fuzz_torch_pt PRIVATE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_options(fuzz_torch_pt PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_torch_pt PRIVATE ZLIB::ZLIB m)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz-work-pt)
  add_test(NAME fuzz_torch_pt COMMAND fuzz_torch_pt -max_total_time=${DITC_FUZZ_SECONDS} -max_len=65536
           -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 ${CMAKE_BINARY_DIR}/fuzz-work-pt
           ${CMAKE_SOURCE_DIR}/tests/fuzz/torch_pt)
  set_tests_properties(fuzz_torch_pt PROPERTIES TIMEOUT ${_fuzz_timeout})
endif()
ditc_test(test_data SOURCES tests/test_data.c)
ditc_test(test_cpu_math SOURCES tests/test_cpu_math.c)

# Acceptance tests of the trainer (tests/test_*.sh run with bash: ditc binary, source dir; 77 = skipped,
# e.g. no /usr/bin/python3 with torch for the PyTorch comparisons).
ditc_test(test_train_init SOURCES tests/test_train_init.c TIMEOUT 300)
add_test(NAME test_parity COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_parity.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_parity PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
# SophiaG: 10 steps with 3 Hessian refreshes against tests/reference/sophia_reference.py (1e-5 relative)
add_test(NAME test_sophia COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_sophia.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_sophia PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
add_test(NAME test_interop COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_interop.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_interop PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
# torch.save .pt/.pth read in C (tests/reference/make_pt_files.py writes them with PyTorch): bit-exact tensors,
# checkpoint selection, `ditc check`/`ditc sample` identical to the safetensors files, bad files refused.
add_test(NAME test_torch_pt COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_torch_pt.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_torch_pt PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
add_test(NAME test_resume COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_resume.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_resume PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
add_test(NAME test_bad_input COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_bad_input.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_bad_input PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
ditc_test(test_loader SOURCES tests/test_loader.c)
add_test(NAME test_lr_schedule COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_lr_schedule.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_lr_schedule PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# Running on a cluster: stop signals, rotation, kill -9, a full disk, the loss-spike guard, TensorBoard events
add_test(NAME test_cluster COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_cluster.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_cluster PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# Distributed training (label mpi): needs -DDITC_MPI=ON and mpirun; otherwise the script exits 77 (skipped).
add_executable(st_compare tests/st_compare.c)
target_link_libraries(st_compare PRIVATE ditc_core)
add_test(NAME test_mpi COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_mpi.sh $<TARGET_FILE:ditc> $<TARGET_FILE:st_compare>
         ${CMAKE_SOURCE_DIR})
set_tests_properties(test_mpi PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 LABELS mpi)
add_test(NAME test_grad_buckets COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_grad_buckets.sh $<TARGET_FILE:ditc>
         $<TARGET_FILE:st_compare>)
set_tests_properties(test_grad_buckets PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 LABELS mpi)
add_test(NAME test_cluster_mpi COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_cluster_mpi.sh $<TARGET_FILE:ditc>)
set_tests_properties(test_cluster_mpi PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS mpi)

# Data sources (ImageFolder, CIFAR-10, shards, auto-detection) and `ditc extract` end to end.
ditc_test(test_sources SOURCES tests/test_sources.c TIMEOUT 300)
add_test(NAME test_extract COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_extract.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_extract PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# Pillow-exact decoding + center_crop_arr (Debian python3-pil generates the corpus and the expected bytes)
add_executable(test_image_exact tests/test_image_exact.c)
target_link_libraries(test_image_exact PRIVATE ditc_core)
add_test(NAME test_image_exact COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_image_exact.sh $<TARGET_FILE:test_image_exact>
         ${CMAKE_SOURCE_DIR})
set_tests_properties(test_image_exact PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
# decode + crop + flip throughput (scripts/bench/crop_vs_pillow.sh runs it beside Pillow)
add_executable(bench_crop tests/bench_crop.c)
target_link_libraries(bench_crop PRIVATE ditc_core)
add_test(NAME test_microbatch COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_microbatch.sh $<TARGET_FILE:ditc>
         $<TARGET_FILE:st_compare>)
set_tests_properties(test_microbatch PROPERTIES TIMEOUT 300)
add_test(NAME test_ldit COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_ldit.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_ldit PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# The Stable Diffusion VAE: forward ops against naive references.
ditc_test(test_vae_ops SOURCES tests/test_vae_ops.c TIMEOUT 120)
# against diffusers' AutoencoderKL (skipped without /usr/bin/python3 + torch + diffusers)
add_test(NAME test_vae_parity COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_vae_parity.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_vae_parity PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
add_test(NAME test_vae_latents COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_vae_latents.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_vae_latents PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# `ditc fid` against pytorch-fid 0.3.0 (random Inception weights; skipped without torchvision, scipy, pytorch_fid),
# and the C pieces (bilinear resize, pooling, Fréchet distance, npz reader) against naive references.
add_test(NAME test_fid COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_fid.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_fid PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
ditc_test(test_fid_ops SOURCES tests/test_fid_ops.c TIMEOUT 60)
# SophiaG on latents (--vae, latent shards): the Hessian pass sees the model input
add_test(NAME test_sophia_latents COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_sophia_latents.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_sophia_latents PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# Device code paths without a GPU: the cpu-guard backend (host_memory = 0, memory the core cannot touch).
ditc_test(test_guard SOURCES tests/test_guard.c TIMEOUT 60)
add_test(NAME test_bf16_emulation COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_bf16_emulation.sh $<TARGET_FILE:ditc>
         ${CMAKE_SOURCE_DIR} $<TARGET_FILE:st_compare>)
set_tests_properties(test_bf16_emulation PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
add_test(NAME test_device_paths COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_device_paths.sh $<TARGET_FILE:ditc>
         ${CMAKE_SOURCE_DIR})
set_tests_properties(test_device_paths PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# CPU vs CUDA parity (label gpu): every op, RNG streams, then `ditc check` and 50 training steps. Exit 77 (skipped)
# without a CUDA device or without -DDITC_CUDA=ON.
# On the CPU emulation of the device (-DDITC_CUDA_EMU=ON, tests/cuda_emu/): toy shapes (real ones take hours), run
# twice — the second time the blocks and each block's threads in the reverse order (CUEMU_ORDER=reverse), which
# exposes a missing barrier the first order hides.
# With -DDITC_CUDA_EMU_RACECHECK=ON the kernels run under ThreadSanitizer instead (any data race between the GPU
# threads of a block is an error, exit 66), here and in test_gpu_train's `ditc check` runs: one order is enough —
# TSan follows what orders the threads, not the order they happened to run in. OpenMP and OpenBLAS on one thread:
# TSan cannot see their synchronisation.
if(DITC_CUDA_EMU_RACECHECK)
  ditc_test(test_gpu_parity SOURCES tests/test_gpu_parity.c TIMEOUT 600 ARGS --small)
  set(DITC_TSAN_ENV "OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1;TSAN_OPTIONS=exitcode=66")
  set_tests_properties(test_gpu_parity PROPERTIES ENVIRONMENT "${DITC_TSAN_ENV}")
elseif(DITC_CUDA_EMU)
  ditc_test(test_gpu_parity SOURCES tests/test_gpu_parity.c TIMEOUT 300 ARGS --small)
  add_test(NAME test_gpu_parity_reverse COMMAND test_gpu_parity --small)
  set_tests_properties(test_gpu_parity_reverse PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS gpu
                       ENVIRONMENT CUEMU_ORDER=reverse)
else()
  ditc_test(test_gpu_parity SOURCES tests/test_gpu_parity.c TIMEOUT 600)
endif()
set_tests_properties(test_gpu_parity PROPERTIES LABELS gpu)
# The same program against the CPU backend behind device-style memory (cpu-guard) and against a second CPU
# backend (which has the optional VAE entries), toy shapes: checks the suite itself (every result bit-identical,
# NaN-poisoned outputs, the entry coverage check) on machines without a GPU.
add_test(NAME test_gpu_parity_self COMMAND test_gpu_parity --peer cpu-guard --small)
add_test(NAME test_gpu_parity_self_cpu COMMAND test_gpu_parity --peer cpu --small)
set_tests_properties(test_gpu_parity_self test_gpu_parity_self_cpu PROPERTIES TIMEOUT 120)
add_test(NAME test_gpu_train COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_gpu_train.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR}
         $<TARGET_FILE:st_compare>)
set_tests_properties(test_gpu_train PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 LABELS gpu)
# (the race check: the check and Large-DiT stages only, a training step takes ~10 s there; not tf32, whose
# kernels are fp32's and bf16's; not the GELU recompute's check, whose kernels the others run)
if(DITC_CUDA_EMU_RACECHECK)
  set_tests_properties(test_gpu_train PROPERTIES ENVIRONMENT
                       "DITC_GPU_SMALL=1;DITC_GPU_TRAIN_ONLY=check ldit;DITC_GPU_CHECK_PRECISIONS=fp32 bf16;DITC_GPU_CHECK_VARIANTS=flash;${DITC_TSAN_ENV}")
elseif(DITC_CUDA_EMU) # (the small models of the script's self-check, on the emulated device; 3 of them for --comm nccl)
  set_tests_properties(test_gpu_train PROPERTIES ENVIRONMENT "DITC_GPU_SMALL=1;CUEMU_DEVICES=3")
endif()
# One host wait per training step (the loss and Σ g² read together), counted by the CPU emulation of the device
# (exit 77 elsewhere; ~15 s). Not in the race check's build: TSan adds nothing to a count of waits.
if(NOT DITC_CUDA_EMU_RACECHECK)
  add_test(NAME test_host_waits COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_host_waits.sh $<TARGET_FILE:ditc>
           ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_host_waits PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS gpu)
endif()
# The same script with the cpu-guard backend in place of cuda and small models: checks the script itself (~6 s).
add_test(NAME test_gpu_train_self COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_gpu_train.sh $<TARGET_FILE:ditc>
         ${CMAKE_SOURCE_DIR} $<TARGET_FILE:st_compare>)
set_tests_properties(test_gpu_train_self PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 ENVIRONMENT DITC_GPU_DEVICE=cpu-guard)
# The device script's dry run, cheap part (label gpu_dry): script syntax, the stage machinery (timeouts), the
# $OUT packaging and its file count; no kit and no CUDA build needed. The full dry run (kit + CUDA build against
# it) is `DITC_GPU_DRY=1 bash scripts/gpu_session.sh`.
add_test(NAME test_gpu_dry COMMAND env DITC_GPU_DRY=1 DITC_GPU_DRY_BUILD=0 OUT=${CMAKE_BINARY_DIR}/gpu-dry-out
         bash ${CMAKE_SOURCE_DIR}/scripts/gpu_session.sh)
set_tests_properties(test_gpu_dry PROPERTIES LABELS gpu_dry TIMEOUT 120)
# The PyTorch DiT scripts' spellings of the train flags = ditc's own (identical checkpoints)
add_test(NAME test_script_flags COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_script_flags.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_script_flags PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# --init-from: a fresh run from pretrained weights (safetensors, .pt state_dict or checkpoint dict, a checkpoint dir)
add_test(NAME test_init_from COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_init_from.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_init_from PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# --resume FILE.pt: a reference train.py checkpoint continued by ditc = the reference loop on the same batches
add_test(NAME test_resume_pt COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_resume_pt.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_resume_pt PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# ditc convert IN OUT.pt: a torch.save file torch.load(weights_only=True) accepts
add_test(NAME test_pt_write COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_pt_write.sh $<TARGET_FILE:ditc> ${CMAKE_SOURCE_DIR})
set_tests_properties(test_pt_write PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# `ditc sample --npz` (the ADM sample batch): numpy/zipfile read-back, PNG byte match, --balanced, resume after
# kill -9, ZIP64, bad input; the mpi-labelled one: the identical file for mpirun -np 1/2/3 and a resume across -np.
add_test(NAME test_sample_npz COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_sample_npz.sh $<TARGET_FILE:ditc>
         ${CMAKE_SOURCE_DIR})
set_tests_properties(test_sample_npz PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
add_test(NAME test_sample_npz_mpi COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_sample_npz.sh $<TARGET_FILE:ditc>
         ${CMAKE_SOURCE_DIR} mpi)
set_tests_properties(test_sample_npz_mpi PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 LABELS mpi)
# DDPM/DDIM + classifier-free guidance against the PyTorch reference loops on ditc's own noise (sampler_reference.py)
add_test(NAME test_sampler_parity COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_sampler_parity.sh $<TARGET_FILE:ditc>
         ${CMAKE_SOURCE_DIR})
set_tests_properties(test_sampler_parity PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
# The .npz writer: layout unit checks, then a full-size (50000 x 256² x 3, 9.8 GB sparse) ZIP64 file read back by
# Python's zipfile + numpy (arr_1 beyond 4 GiB, its CRC checked)
add_executable(test_npz_write tests/test_npz_write.c)
target_link_libraries(test_npz_write PRIVATE ditc_core)
target_include_directories(test_npz_write PRIVATE tests)
add_test(NAME test_npz_write COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_npz_write.sh $<TARGET_FILE:test_npz_write>
         ${CMAKE_SOURCE_DIR})
set_tests_properties(test_npz_write PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
