#!/usr/bin/python3
"""bnn-to-c: a model becomes a C array that a program built with the
installed header loads with bnn_model_load_static and runs; the header's
sizes are what the runtime reports; bad input leaves no file behind.

usage: bnn_to_c_test.py BNN_TO_C MODEL.bnn LIBBNN.so INCLUDE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

FAILURES = []

MAIN = r"""
#include <stdio.h>
#include "bnn/bnn.h"
#include "person_model.h"
static unsigned char tables[PERSON_MODEL_MODEL_MEMORY_BYTES] __attribute__((aligned(16)));
static unsigned char memory[PERSON_MODEL_INTERPRETER_MEMORY_BYTES + PERSON_MODEL_PATCH_ARENA_BYTES + 64]
    __attribute__((aligned(16)));
int main(void) {
  bnn_model* m = 0;
  if (((unsigned long)person_model) % 64) return 3;
  if (bnn_model_load_static(person_model, PERSON_MODEL_BYTES, tables, sizeof tables, &m)) {
    printf("%s\n", bnn_last_load_error());
    return 1;
  }
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.memory = memory;
  o.memory_bytes = sizeof memory;
  o.patch_based = 1;
  o.force_reference = 1;
  bnn_interpreter* it = 0;
  if (bnn_interpreter_create(m, &o, &it)) {
    printf("%s\n", bnn_last_load_error());
    return 2;
  }
  printf("ops %d arena %zu\n", bnn_model_op_count(m), bnn_interpreter_arena_bytes(it));
  return bnn_interpreter_invoke(it);
}
"""


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        FAILURES.append(what)


def main():
    tool, model, lib, include = sys.argv[1:5]
    with tempfile.TemporaryDirectory() as tmp:
        out_c = os.path.join(tmp, "person_model.c")
        r = subprocess.run([tool, model, "-o", out_c], capture_output=True, text=True)
        check(r.returncode == 0, f"bnn-to-c converts the model ({r.stdout.strip()}{r.stderr.strip()})")
        header = open(os.path.join(tmp, "person_model.h")).read()
        size = int(re.search(r"#define PERSON_MODEL_BYTES (\d+)u", header).group(1))
        check(size == os.path.getsize(model), "PERSON_MODEL_BYTES is the file's size")
        arena = int(re.search(r"#define PERSON_MODEL_PATCH_ARENA_BYTES (\d+)u", header).group(1))
        check('section(".rodata.bnn_model")' in open(out_c).read(), "the array is in its .rodata section")
        with open(os.path.join(tmp, "main.c"), "w") as f:
            f.write(MAIN)
        exe = os.path.join(tmp, "main")
        cc = subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-I", include, "-I", tmp, "-o", exe,
                             os.path.join(tmp, "main.c"), out_c, lib, "-Wl,-rpath," + os.path.dirname(lib)],
                            capture_output=True, text=True)
        check(cc.returncode == 0, "a C program with the array compiles against bnn.h " + cc.stderr.strip())
        if cc.returncode == 0:
            run = subprocess.run([exe], capture_output=True, text=True)
            check(run.returncode == 0, f"it loads the array heap-free and runs it ({run.stdout.strip()})")
            check(f"arena {arena}" in run.stdout, "its arena is the header's PERSON_MODEL_PATCH_ARENA_BYTES")

        # A damaged model: an error, and nothing written.
        bad = os.path.join(tmp, "bad.bnn")
        data = bytearray(open(model, "rb").read())
        data[200] ^= 0xFF
        open(bad, "wb").write(data)
        r = subprocess.run([tool, bad, "-o", os.path.join(tmp, "bad.c")], capture_output=True, text=True)
        check(r.returncode == 1 and "damaged" in r.stderr, "a damaged model is refused: " + r.stderr.strip())
        check(not any(n.startswith("bad.") and n != "bad.bnn" for n in os.listdir(tmp)),
              "and nothing is written for it")
        r = subprocess.run([tool, model, "-o", os.path.join(tmp, "x.c"), "--name", "9lives"], capture_output=True,
                           text=True)
        check(r.returncode == 1 and "not a C identifier" in r.stderr, "a bad symbol name is refused")
        r = subprocess.run([tool, os.path.join(tmp, "missing.bnn"), "-o", os.path.join(tmp, "m.c")],
                           capture_output=True, text=True)
        check(r.returncode == 1 and "missing.bnn" in r.stderr, "a missing file is named: " + r.stderr.strip())
    print(f"{len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
