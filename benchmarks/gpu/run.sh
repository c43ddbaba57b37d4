#!/bin/bash
# The GPU check on a GPU machine, offline, from the repository root with the kit (.gpu/) beside it:
#   bash benchmarks/gpu/run.sh OUT
# 1. builds llama-cpp-python from the kit's source with CUDA for this machine's GPU (all cores; about 5.5 min on
#    16 cores), unless /tmp/hearth-gpu/whl already holds the wheel (a second run on the same machine);
# 2. installs it, the kit's wheels and Hearth with --no-index into /tmp/hearth-gpu/site;
# 3. runs the steps (python -m benchmarks.gpu run --gpu) in what is left of HEARTH_GPU_BUDGET_S (default 570 s).
# OUT gets gpu-check.json, gpu-check.md and build.log (its tail, on a failed build).
set -u
OUT=$(mkdir -p "${1:?usage: run.sh OUT}" && cd "$1" && pwd)
KIT=$(cd "${HEARTH_GPU_KIT:-.gpu}" && pwd) || { echo "no kit: run python -m benchmarks.gpu prepare first"; exit 2; }
H=/tmp/hearth-gpu
BUDGET=${HEARTH_GPU_BUDGET_S:-570}
START=$(date +%s)
PY=${PYTHON:-python3}
mkdir -p $H/whl
echo "$(nproc) cores; $($PY --version 2>&1); $(command -v nvcc >/dev/null && nvcc --version | tail -1 || echo 'no nvcc')"
unpack() { $PY -c "import lzma, sys, tarfile; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2], filter='data')" "$1" "$2"; }
[ -d $H/llama-cpp-python ] || unpack "$KIT/llama-cpp-python.tar.xz" $H
[ -d $H/wheels ] || unpack "$KIT/wheels.tar.xz" $H
echo "unpacked in $(( $(date +%s) - START )) s"

if ! ls $H/whl/llama_cpp_python-*.whl >/dev/null 2>&1; then
  for ARCH in native 90; do
    echo "building llama-cpp-python with CUDA (architectures: $ARCH) on $(nproc) cores ..."
    ( cd $H/llama-cpp-python && \
      CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=$ARCH -DLLAVA_BUILD=OFF" \
      CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      $PY -m pip wheel -q --no-build-isolation --no-deps -w $H/whl . ) > "$OUT/build.log" 2>&1 && break
    tail -40 "$OUT/build.log"
  done
fi
BUILT=$(( $(date +%s) - START ))
ls $H/whl/llama_cpp_python-*.whl >/dev/null 2>&1 || { echo "the CUDA build failed (see build.log)"; exit 1; }
echo "llama-cpp-python built after $BUILT s"
tail -c 3000 "$OUT/build.log" > "$OUT/build.log.tail" 2>/dev/null; mv -f "$OUT/build.log.tail" "$OUT/build.log" 2>/dev/null

$PY -m pip install -q --no-index --no-deps --no-compile --find-links $H/wheels --target $H/site --upgrade \
    $H/whl/llama_cpp_python-*.whl $H/wheels/*.whl . || { echo "install failed"; exit 1; }
export PYTHONPATH=$H/site:$(echo $H/llama-cpp-python/vendor/llama.cpp/gguf-py)${PYTHONPATH:+:$PYTHONPATH}
export PATH=$H/site/bin:$PATH
$PY -c "import llama_cpp; print('llama_cpp', llama_cpp.__version__, 'gpu offload:', llama_cpp.llama_supports_gpu_offload())"
LEFT=$(( BUDGET - ($(date +%s) - START) ))
echo "installed after $(( $(date +%s) - START )) s; $LEFT s left for the steps"
PYTHONUNBUFFERED=1 $PY -m benchmarks.gpu run ${HEARTH_GPU_FLAG---gpu} --kit "$KIT" --out "$OUT" --work $H/work --budget-s $LEFT \
    --build-s $(( $(date +%s) - START )) \
    ${HEARTH_GPU_RUN_ARGS:-}
