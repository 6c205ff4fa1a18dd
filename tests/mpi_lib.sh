# mpi_lib.sh — what the mpirun test scripts share (sourced; tests/test_mpi.sh, test_grad_buckets.sh,
# test_cluster_mpi.sh): DITC from $1, a temporary directory TMP (removed on exit), one OpenMP thread per rank,
# MPI=(mpirun … -np) (root: --allow-run-as-root), check/passes/fails, and mpi_probe T_ARRAY_NAME, which exits 77
# (skip) without mpirun or when ditc is not built with MPI (a 1-step -np 2 run must name the mpi communicator).
set -u
DITC="$1"
command -v mpirun >/dev/null || { echo "mpirun not found: skipping"; exit 77; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
MPI=(mpirun --oversubscribe -np)
[ "$(id -u)" = 0 ] && MPI=(mpirun --allow-run-as-root --oversubscribe -np)
fails=0; passes=0
check() { if [ "$1" = 0 ]; then passes=$((passes+1)); echo "[PASS] $2"; else fails=$((fails+1)); echo "[FAIL] $2"; fi; }
mpi_probe() { # NAME of an array of train flags
    local -n flags=$1
    timeout 60 "${MPI[@]}" 2 "$DITC" train "${flags[@]}" --max-steps 1 --results-dir "$TMP/probe" > "$TMP/probe.log" 2>&1
    grep -q "mpi communicator" "$TMP/probe.log" ||
        { echo "ditc is not built with MPI (-DDITC_MPI=ON): skipping"; tail -3 "$TMP/probe.log"; exit 77; }
}
