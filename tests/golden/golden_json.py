"""Writes golden-value files with one case per line, so that a change to one case shows as a
one-line diff: {"generator": ..., "cases": [\\n<case>,\\n<case>\\n]}. Written atomically."""
import json
import os


def write_cases(path, header, cases):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(header, separators=(",", ":"))[:-1] + ',"cases":[\n')
        f.write(",\n".join(json.dumps(case, separators=(",", ":")) for case in cases))
        f.write("\n]}\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    # Rewrites existing golden files in this layout without regenerating their values.
    import sys
    for path in sys.argv[1:]:
        with open(path) as f:
            document = json.load(f)
        cases = document.pop("cases")
        write_cases(path, document, cases)
