#!/usr/bin/env bash
# The README's two commands. Each installs what is missing (Debian 12
# packages, as root or through sudo), builds, and then:
#   scripts/dev.sh run    runs the main job: the kernel self-check, then
#                         bnn-demo's built-in default (objects and faces on
#                         sample videos, headless, output in build/demo/)
#   scripts/dev.sh test   runs every test: native (every x86 SIMD target this
#                         CPU has), aarch64 under qemu (SVE/SVE2 and NEON-only
#                         CPUs), armv7 NEON under qemu, the runtime and the
#                         firmware example on Cortex-M4 and Cortex-M7 under
#                         qemu-system-arm, everything again
#                         under ASan+UBSan, and a bounded libFuzzer run over
#                         the model loader; ends with "N passed, N failed".
#   scripts/dev.sh bench  also installs the float baselines (PyTorch, OpenCV)
#                         and the cross tools, runs the whole benchmark suite
#                         (bench/run_all.py) and rewrites docs/benchmarks.md
#                         and the reports it gathers (about 6 minutes);
#                         `scripts/dev.sh bench --quick` is a smoke run that
#                         writes to build/bench-quick/ instead
# Idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

BUILD_PKGS=(meson ninja-build pkg-config g++ python3 libhwy-dev catch2 libbenchmark-dev
            libflatbuffers-dev flatbuffers-compiler libonnx-dev libprotobuf-dev libopencv-dev)
# Cross compilers and QEMU: the ARM tests, and the ARM instruction counts of bench.
CROSS_PKGS=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user gcc-arm-none-eabi
            libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm libhwy-dev:arm64)
TEST_PKGS=("${CROSS_PKGS[@]}" clang libclang-rt-14-dev
           libonnx-testdata python3-onnx python3-numpy python3-torch python3-pytest
           dataset-fashion-mnist python3-opencv
           darknet opencv-doc facedetect  # real test images for the shipped models (tests/apps)
           xvfb xdotool x11-apps          # bnn-demo's windowed test: a display, keys, screenshots
           make)                          # the camera examples' Makefile
# bnn-demo's built-in default: sample videos and face images.
DEMO_PKGS=(opencv-doc facedetect)
# The benchmark reports' float baselines.
BENCH_PKGS=(python3-torch python3-torchvision python3-opencv python3-onnx python3-numpy
            python3-matplotlib)
# UBSan reports must fail the test, not just print.
SANITIZE=(-Db_sanitize=address,undefined -Db_lundef=false
          -Dc_args=-fno-sanitize-recover=all -Dcpp_args=-fno-sanitize-recover=all)

# Installs the named packages that are not installed yet.
install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  if printf '%s\n' "${missing[@]}" | grep -q ':arm64$' &&
     ! dpkg --print-foreign-architectures | grep -qx arm64; then
    as_root dpkg --add-architecture arm64
  fi
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# setup DIR [meson options...]: configure once (again only when the options
# change), then build.
setup() {
  local dir=$1; shift
  local stamp="$dir/.dev-sh-options"
  if [ ! -f "$dir/build.ninja" ]; then
    rm -rf "$dir"
    meson setup "$dir" "$@"
  elif [ "$(cat "$stamp" 2>/dev/null)" != "$*" ]; then
    meson setup --wipe "$dir" "$@"
  fi
  echo "$*" > "$stamp"
  ninja -C "$dir"
}

# setup_mcu CPU: the bare-metal build for cross/CPU.ini (runtime, firmware
# example, its tests against the desktop build's bnn-run).
setup_mcu() {
  setup "build-$1" --cross-file "cross/$1.ini" -Dtests=disabled -Dbenchmarks=disabled \
    -Dmcu_tests=true -Ddesktop_build="$PWD/build"
}

# run_tests DIR LOGBASE [env...]: meson test with its own log name.
run_tests() {
  local dir=$1 logbase=$2; shift 2
  echo "== tests: $dir ($logbase${*:+, $*})"
  env "$@" meson test -C "$dir" --print-errorlogs --logbase "$logbase" || true
}

cmd=${1:-}
case "$cmd" in
  run)
    install_missing "${BUILD_PKGS[@]}" "${DEMO_PKGS[@]}"
    setup build
    ./build/apps/bnn-selfcheck
    echo
    # The main job: bnn-demo's built-in default, headless: object detection
    # and face recognition on every frame of opencv-doc's sample videos, on
    # one core, with a gallery enrolled from sample images.
    rm -rf build/demo
    ./build/apps/bnn-demo --headless --out build/demo
    echo
    echo "Annotated videos and a JSON line per frame are in build/demo/ (vtest.avi, Megamind.avi,"
    echo "*.jsonl; the gallery is build/demo/demo.gallery). Live, with a webcam or any video:"
    echo "  build/apps/bnn-demo [0 | VIDEO | FOLDER]      (keys: e enroll, m models, p pause, q quit)"
    ;;
  test)
    install_missing "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"
    rm -f build*/meson-logs/testlog*.json
    setup build
    run_tests build testlog
    setup build-aarch64 --cross-file cross/aarch64-linux.ini -Dbenchmarks=disabled
    run_tests build-aarch64 testlog-sve BNN_EXPECT_TARGETS=NEON,SVE,SVE2
    run_tests build-aarch64 testlog-neon QEMU_CPU=cortex-a72 BNN_EXPECT_TARGETS=NEON
    setup build-armv7 --cross-file cross/armv7-linux.ini -Dsimd=static -Dbenchmarks=disabled
    run_tests build-armv7 testlog BNN_EXPECT_TARGETS=NEON
    for cpu in cortex-m4 cortex-m7; do
      setup_mcu "$cpu"
      run_tests "build-$cpu" testlog
    done
    # The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer.
    setup build-asan "${SANITIZE[@]}" -Dbenchmarks=disabled
    run_tests build-asan testlog
    # libFuzzer over the loader and interpreter, for a bounded time.
    CC=clang CXX=clang++ setup build-fuzz -Dfuzzing=true -Dfuzz_seconds=60 "${SANITIZE[@]}" \
      -Dtests=disabled -Dbenchmarks=disabled
    run_tests build-fuzz testlog
    python3 scripts/test-summary.py build*/meson-logs/testlog*.json
    ;;
  bench)
    install_missing "${BUILD_PKGS[@]}" "${BENCH_PKGS[@]}" "${CROSS_PKGS[@]}"
    setup build
    # The ARM instruction counts run the aarch64 and Cortex-M4 builds under QEMU.
    setup build-aarch64 --cross-file cross/aarch64-linux.ini -Dbenchmarks=disabled
    setup_mcu cortex-m4
    setup_mcu cortex-m7
    /usr/bin/python3 bench/run_all.py "${@:2}"
    ;;
  *)
    echo "usage: $0 run|test|bench" >&2
    exit 2
    ;;
esac
