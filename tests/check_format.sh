#!/usr/bin/env bash
# check_format.sh SRC — every C/CUDA source of the tree is formatted as .clang-format says (ctest test_format).
# Exit 0 when `clang-format --dry-run --Werror` accepts every file, 1 listing the files that differ (fix them with
# `clang-format -i FILE`), 77 when clang-format is not installed.
set -u
SRC=${1:?usage: bash $0 SOURCE_DIR}
cd "$SRC" || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
    echo "SKIP check_format: clang-format is not installed"
    exit 77
fi
# The tree was formatted with clang-format 14 (Debian 12's); other versions break some lines differently.
major=$(clang-format --version | sed -n 's/.*version \([0-9]*\).*/\1/p' | head -n 1)
if [ "$major" != 14 ]; then
    echo "SKIP check_format: clang-format $major here; the tree's format is clang-format 14's"
    exit 77
fi
mapfile -t files < <(git ls-files 'core/*.c' 'core/*.h' 'backend_cpu/*.c' 'backend_cpu/*.h' 'backend_cuda/*.cu' \
    'backend_cuda/*.cuh' 'backend_cuda/*.c' 'backend_cuda/*.h' 'comm/*' 'apps/*.c' 'apps/*.h' 'tests/*.c' 'tests/*.h' \
    2>/dev/null | grep -E '\.(c|h|cu|cuh)$')
if [ ${#files[@]} -eq 0 ]; then # not a git checkout: every source file
    mapfile -t files < <(find core backend_cpu backend_cuda comm apps tests -maxdepth 2 -type f \
        \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) | sort)
fi
bad=()
for f in "${files[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
    printf 'FAIL not formatted as .clang-format: %s\n' "${bad[@]}"
    echo "check_format: ${#bad[@]} of ${#files[@]} files differ (clang-format -i FILE)"
    exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format ($(clang-format --version | head -n 1))"
