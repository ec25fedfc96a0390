#!/usr/bin/env bash
# Builds llama-cpp-python (an sdist: it compiles llama.cpp) once per CPU feature set, portably, and installs it.
#
# Why not `pip install llama-cpp-python`: its default build passes -march=native. On a Xeon with AMX that
# turns on llama.cpp's AMX kernels, and ggml_backend_amx_mul_mat segfaults on the first decode of Gemma 3
# 270M Q4_K_M. A wheel built with -march=native is also wrong on any other CPU than the one it was built on.
# So the build names its instruction sets: on x86-64 the Haswell-era baseline every x86-64 CPU of the last
# ten years has (SSE4.2, AVX, AVX2, FMA, F16C, BMI2), with AVX-512 and AMX off; on arm64 the armv8 baseline.
# llama.cpp's runtime variant dispatch (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS) would pick AVX-512 where it
# exists, but it compiles the CPU backend once per variant (about 8x the build time on 2 cores) and ships the
# AMX variant; what the portable build costs in generation speed is measured in BENCHMARKS.md.
#
# The wheel is kept in ~/.cache/xlqe-lite/wheels/<key>/, the key naming the version and the flags, so a
# flag change builds anew and pip's own wheel cache (keyed by the sdist, not the flags) is never consulted.
# The sdist is checked against the hash in requirements/llama.txt.
#
# usage: scripts/build-llama-wheel.sh PYTHON   (installs into that interpreter's environment)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
VERSION=$(sed -n 's/^llama-cpp-python==\([0-9.]*\).*/\1/p' requirements/llama.txt)

case "$(uname -m)" in
  x86_64|amd64)
    FLAGS="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
    FLAGS+=" -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF"
    FLAGS+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    ;;
  aarch64|arm64) FLAGS="-DGGML_NATIVE=OFF" ;;
  *) FLAGS="-DGGML_NATIVE=OFF" ;;
esac
# XLQE_LLAMA_CMAKE_ARGS overrides the feature set (e.g. for the benchmark of the AVX-512 build).
FLAGS=${XLQE_LLAMA_CMAKE_ARGS:-$FLAGS}
KEY=$(printf '%s %s %s' "$VERSION" "$(uname -m)" "$FLAGS" | sha256sum | cut -c1-16)
WHEELS=${XLQE_WHEEL_CACHE:-$HOME/.cache/xlqe-lite/wheels}/llama-cpp-python-$VERSION-$KEY

if ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION for $(uname -m) ($FLAGS); about 5-9 minutes on 2 cores" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  CMAKE_ARGS="$FLAGS" FORCE_CMAKE=1 CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
    "$PY" -m pip --disable-pip-version-check wheel -q --no-deps --no-cache-dir --require-hashes \
    -r requirements/llama.txt -w "$tmp"
  mkdir -p "$(dirname "$WHEELS")"
  rm -rf "$WHEELS.partial" && mv "$tmp" "$WHEELS.partial" && mv "$WHEELS.partial" "$WHEELS"
  trap - EXIT
  printf '%s\n' "$FLAGS" > "$WHEELS/CMAKE_ARGS"
fi
"$PY" -m pip --disable-pip-version-check install -q --no-deps --no-index --force-reinstall \
  --find-links "$WHEELS" "llama-cpp-python==$VERSION"
