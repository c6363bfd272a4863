#!/usr/bin/env python3
"""Compiles the README's C example as strict C99 against this build and checks its output."""
import os
import re
import subprocess
import sys
import tempfile

readme, cc, include_dir, library = sys.argv[1:5]
with open(readme, encoding="utf-8") as f:
    code = re.search(r"```c\n(.*?)```", f.read(), re.S).group(1)
with tempfile.TemporaryDirectory() as tmp:
    source, program = os.path.join(tmp, "example.c"), os.path.join(tmp, "example")
    with open(source, "w", encoding="utf-8") as f:
        f.write(code)
    lib_dir = os.path.dirname(library)
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", source, "-I", include_dir,
                    "-L", lib_dir, "-lloom", f"-Wl,-rpath,{lib_dir}", "-o", program], check=True)
    out = subprocess.run([program], check=True, capture_output=True, text=True).stdout
    print(out, end="")
    sys.exit(0 if "d/dx sum(x^2) = [2, 4, 6]" in out else 1)
