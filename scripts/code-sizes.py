#!/usr/bin/env python3
"""Sizes of a Rust source tree: the largest files and the longest functions (lines from
`fn` to its closing brace), and the unit tests (#[test] / #[tokio::test]) in it.

    scripts/code-sizes.py deployer/src [deployer/tests]
"""
import pathlib
import re
import sys

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")


def functions(path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[j].split("//")[0])
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if (opened and depth <= 0) or (not opened and code.rstrip().endswith(";")):
                break
            j += 1
        if opened:
            yield m.group(6), j - i + 1, f"{path}:{i + 1}"
        i += 1


def main(roots):
    files = [p for r in roots for p in sorted(pathlib.Path(r).rglob("*.rs"))]
    sizes = sorted(((len(p.read_text().splitlines()), str(p)) for p in files), reverse=True)
    fns = sorted((n, name, where) for p in files for name, n, where in functions(p) if "test" not in where)
    tests = sum(len(re.findall(r"#\[(tokio::)?test(\(.*\))?\]", p.read_text())) for p in files)
    print(f"{len(files)} files, {sum(s for s, _ in sizes)} lines, {tests} tests")
    print("largest files:")
    for n, p in sizes[:5]:
        print(f"  {n:5} {p}")
    print("longest functions (outside tests):")
    for n, name, where in sorted(fns, reverse=True)[:5]:
        print(f"  {n:5} {name} ({where})")


if __name__ == "__main__":
    main(sys.argv[1:] or ["deployer/src"])
