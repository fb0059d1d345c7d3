#!/usr/bin/env python3
"""The firmware example on a QEMU board against the desktop runtime.

    firmware_test.py --machine mps2-an386 --firmware bnn-firmware-cortex-m4.elf
        --host bnn-firmware-host --model MODEL.bnn --size arm-none-eabi-size
        --work DIR [--bnn-run DESKTOP/apps/bnn-run] [--max-arena BYTES]

Fixed inputs of the model's input shape are made from images that install
with Debian packages (darknet's person.jpg, dog.jpg, horses.jpg, facedetect's
Grace Hopper, opencv-doc's messi5.jpg and a vtest.avi frame), resized the way
the apps do (cv2.INTER_AREA, grey when the model takes one channel), plus an
all-zero and a random input. Checks:

  1. the firmware runs (exit status 0 under qemu-system-arm) and its output
     and checksum lines equal bnn-firmware-host's (the same source on the
     build machine's runtime) line for line, and so do those of the firmware
     run layer by layer (--firmware-layers) instead of patch-based;
  2. with --bnn-run, the desktop runtime (its best SIMD kernels) gives the
     same output bytes (checksums recomputed here from bnn-run's .npy files);
  3. the budgets: flash (text + data) <= 1 MiB, SRAM (data + bss + stack) <=
     256 KiB, the stack high-water mark leaves headroom (the start-up code
     checks it), and with --max-arena the arena the firmware reports.
"""
import argparse
import os
import re
import struct
import subprocess
import sys

import numpy as np

FLASH_BUDGET = 1 << 20
SRAM_BUDGET = 256 << 10
STACK_BYTES = 16 << 10  # apps/firmware/board/mps2.ld's __stack_size__
IMAGES = [
    "/usr/share/darknet/data/person.jpg",
    "/usr/share/darknet/data/dog.jpg",
    "/usr/share/darknet/data/horses.jpg",
    "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg",
    "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
]
VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
FAILURES = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        FAILURES.append(what)


def run(cmd, cwd, timeout=300):
    r = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def fnv1a(data, h=2166136261):
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def make_inputs(dtype, dims, work):
    """Writes the fixed inputs; returns their file names (relative to work)."""
    import cv2
    names = []
    shape = tuple(dims)
    n = int(np.prod(shape))
    if dtype == "U8" and len(dims) == 4:
        h, w, c = dims[1], dims[2], dims[3]
        frames = []
        for path in IMAGES:
            img = cv2.imread(path)
            if img is None:
                raise SystemExit(f"firmware_test: cannot read {path} (install darknet, facedetect, opencv-doc)")
            frames.append((os.path.splitext(os.path.basename(path))[0], img))
        cap = cv2.VideoCapture(VIDEO)
        cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
        ok, frame = cap.read()
        if not ok:
            raise SystemExit(f"firmware_test: cannot read a frame of {VIDEO}")
        frames.append(("vtest-100", frame))
        for name, img in frames:
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            if c == 1:
                img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[:, :, None]
            elif c == 3:
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            names.append((name + ".raw", np.ascontiguousarray(img, dtype=np.uint8).tobytes()))
        names.append(("zeros.raw", bytes(n)))
        names.append(("random.raw", np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8).tobytes()))
    elif dtype == "F32":
        rng = np.random.default_rng(1)
        for k in range(3):
            names.append((f"normal-{k}.raw", rng.standard_normal(n).astype(np.float32).tobytes()))
        names.append(("zeros.raw", bytes(4 * n)))
    else:
        raise SystemExit(f"firmware_test: no fixed inputs for a {dtype} input")
    for name, data in names:
        with open(os.path.join(work, name), "wb") as f:
            f.write(data)
    return [name for name, _ in names]


def result_lines(text):
    return [l.strip() for l in text.splitlines() if l.startswith(("output ", "checksum "))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machine", required=True)
    ap.add_argument("--firmware", required=True)
    ap.add_argument("--firmware-layers", default="")
    ap.add_argument("--host", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", required=True)
    ap.add_argument("--map", default="")
    ap.add_argument("--work", required=True)
    ap.add_argument("--bnn-run", default="")
    ap.add_argument("--max-arena", type=int, default=0)
    args = ap.parse_args()
    for key in ("firmware", "firmware_layers", "host", "model", "work", "bnn_run"):  # the runs happen in the work folder
        if getattr(args, key):
            setattr(args, key, os.path.abspath(getattr(args, key)))
    os.makedirs(args.work, exist_ok=True)

    # The input's shape, from the host build's first lines.
    status, text = run([args.host], args.work)
    m = re.search(r"^input: (\w+) ([\dx ]+), (\d+) bytes \(tools take it as (\w+)\)", text, re.M)
    if status != 0 or not m:
        print(text)
        print("FAIL: bnn-firmware-host did not describe the model's input")
        return 1
    dtype, dims = m.group(1), [int(d) for d in m.group(2).strip().split("x")]
    nchw = m.group(4) == "NCHW"
    inputs = make_inputs(dtype, dims, args.work)

    status_h, host = run([args.host] + inputs, args.work)
    print("--- host:\n" + host)
    qemu = ["qemu-system-arm", "-M", args.machine, "-nographic", "-kernel", args.firmware, "-semihosting-config",
            "enable=on,target=native," + ",".join("arg=" + a for a in ["bnn-firmware"] + inputs)]
    try:
        status_f, fw = run(qemu, args.work)
    except subprocess.TimeoutExpired:
        check(False, "the firmware finished within 300 s")
        return 1
    print("--- firmware:\n" + fw)
    check(status_h == 0, f"bnn-firmware-host exit status {status_h}")
    check(status_f == 0, f"firmware exit status {status_f} on {args.machine}")
    host_lines, fw_lines = result_lines(host), result_lines(fw)
    check(sum(l.startswith("checksum ") for l in host_lines) == len(inputs),
          f"the host printed results for all {len(inputs)} inputs")
    check(fw_lines == host_lines and len(fw_lines) > 0,
          f"the firmware's {len(fw_lines)} output and checksum lines equal the host runtime's")
    for a, b in zip(host_lines, fw_lines):
        if a != b:
            print(f"  host:     {a}\n  firmware: {b}")
    if args.firmware_layers:
        layers = list(qemu)
        layers[layers.index(args.firmware)] = args.firmware_layers
        layers[-1] = layers[-1].replace("arg=bnn-firmware,", "arg=bnn-firmware,arg=--layer-by-layer,")
        status_l, text_l = run(layers, args.work)
        print("--- firmware, layer by layer:\n" + "\n".join(l for l in text_l.splitlines()
                                                          if l.startswith(("memory", "mcu"))))
        check(status_l == 0 and result_lines(text_l) == fw_lines,
              "layer-by-layer execution on the board gives the patch-based outputs bit for bit")
        ml = re.search(r"^memory: arena (\d+) bytes", text_l, re.M)
        mp = re.search(r"^memory: arena (\d+) bytes", fw, re.M)
        if ml and mp:
            print(f"arena: {mp.group(1)} bytes patch-based, {ml.group(1)} layer by layer "
                  f"({int(ml.group(1)) / int(mp.group(1)):.1f}x)")

    if args.bnn_run:
        expected = {l.split()[1]: l.split()[2] for l in fw_lines if l.startswith("checksum ")}
        same = 0
        for name in inputs:
            raw = open(os.path.join(args.work, name), "rb").read()
            x = (np.frombuffer(raw, np.uint8).astype(np.float32) if dtype == "U8"
                 else np.frombuffer(raw, np.float32)).reshape(dims)
            if nchw and x.ndim == 4:
                x = x.transpose(0, 3, 1, 2)
            np.save(os.path.join(args.work, "x.npy"), np.ascontiguousarray(x))
            st, out = run([args.bnn_run, args.model, "--input", "x.npy", "--output", "y.npy"], args.work)
            if st != 0:
                print(out)
                check(False, f"bnn-run on {name}")
                continue
            count = sum(l.startswith(f"output {name} ") for l in fw_lines)
            files = ["y.npy"] if count == 1 else [f"y_{o}.npy" for o in range(count)]
            h = 2166136261
            for o, f in enumerate(files):
                y = np.load(os.path.join(args.work, f)).astype(np.float32)
                if nchw and y.ndim == 4:  # bnn-run writes NCHW; the firmware hashed the NHWC bytes
                    y = y.transpose(0, 2, 3, 1)
                h ^= (fnv1a(np.ascontiguousarray(y).tobytes()) + o) & 0xFFFFFFFF
            got = f"{h:08x}"
            same += got == expected.get(name)
            if got != expected.get(name):
                print(f"  {name}: desktop {got}, firmware {expected.get(name)}")
        check(same == len(inputs), f"the desktop runtime (bnn-run, SIMD kernels) gives the firmware's bytes on "
                                   f"{same} of {len(inputs)} inputs")

    # Budgets.
    st, sizes = run([args.size, "-A", args.firmware], args.work)
    sec = {p[0]: int(p[1]) for p in (l.split() for l in sizes.splitlines()) if len(p) >= 3 and p[1].isdigit()}
    flash = sum(v for k, v in sec.items() if k in (".isr_vector", ".text", ".ARM.exidx", ".ARM.extab", ".data",
                                                   ".preinit_array", ".init_array", ".fini_array"))
    sram = sec.get(".data", 0) + sec.get(".bss", 0) + STACK_BYTES
    print(f"sizes: flash {flash} bytes, SRAM {sram} bytes (.data {sec.get('.data', 0)}, .bss {sec.get('.bss', 0)}, "
          f"stack {STACK_BYTES})")
    check(flash <= FLASH_BUDGET, f"flash {flash} <= {FLASH_BUDGET} bytes")
    check(sram <= SRAM_BUDGET, f"SRAM {sram} <= {SRAM_BUDGET} bytes")
    sw = re.search(r"stack high-water (\d+) of (\d+) bytes, heap (\d+) bytes", fw)
    check(bool(sw), "the firmware reported its stack high-water mark")
    if sw:
        print(f"stack high-water {sw.group(1)} of {sw.group(2)} bytes, heap {sw.group(3)} bytes; "
              f"SRAM in use {sec.get('.data', 0) + sec.get('.bss', 0) + int(sw.group(1)) + int(sw.group(3))} bytes")
    ma = re.search(r"^memory: arena (\d+) bytes", fw, re.M)
    check(bool(ma), "the firmware reported its arena")
    if ma and args.max_arena:
        check(int(ma.group(1)) <= args.max_arena, f"arena {ma.group(1)} <= {args.max_arena} bytes")
    print(f"{len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
