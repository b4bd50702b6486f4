#!/usr/bin/env python3
"""Fails when a target imports a module Package.swift does not declare as its direct dependency.

SwiftPM lets a target import any module its dependencies pull in transitively, so the graph in
Package.swift can drift from what the code does. This keeps them equal: every `import M` of a
package module or product must name a direct dependency of the importing target. Standard
modules (Foundation, Testing, Glibc, ...) are not checked.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
manifest = (root / "Package.swift").read_text()

def calls(text):
    """Each `.target(...)`-like call in the manifest with its balanced argument text."""
    for m in re.finditer(r'\.(target|executableTarget|testTarget|systemLibrary)\(', text):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield m.group(1), text[m.end():i - 1]


targets = {}
for kind, args in calls(manifest):
    name = re.match(r'\s*name:\s*"([^"]+)"', args).group(1)
    deps = set()
    if "dependencies:" in args:
        listed = args.split("dependencies:", 1)[1]
        listed = listed[:listed.index("]") + 1] if "]" in listed else listed
        # `.product(name: "P", package: "p")` names module P; a plain string names a target.
        deps = set(re.findall(r'\.product\(name:\s*"([^"]+)"', listed))
        deps |= set(re.findall(r'(?<![:\w])\s*"([^"]+)"', re.sub(r'\.product\([^)]*\)', "", listed)))
    path = re.search(r'path:\s*"([^"]+)"', args)
    targets[name] = (kind, deps, path.group(1) if path else None)

products = set(re.findall(r'\.product\(name:\s*"([^"]+)"', manifest))
# Every library the resolved dependencies offer, so a module reached only transitively (NIOHTTP1
# through AsyncHTTPClient, say) counts too. Run after `swift build`, which checks them out.
checkouts = sorted((root / ".build" / "checkouts").glob("*/Package.swift"))
if not checkouts:
    print("check-imports: no .build/checkouts: run it after `swift build`", file=sys.stderr)
    sys.exit(1)
for dependency in checkouts:
    products |= set(re.findall(r'\.library\(\s*name:\s*"([^"]+)"', dependency.read_text(errors="replace")))
known = set(targets) | products

import_re = re.compile(r'^\s*(?:@testable\s+|@_exported\s+|public\s+|internal\s+|package\s+)*import\s+(?:(?:struct|class|enum|protocol|func|typealias|var|let)\s+)?([A-Za-z_][A-Za-z0-9_]*)', re.M)
problems = []
for name, (kind, deps, path) in sorted(targets.items()):
    if kind == "systemLibrary":
        continue
    folder = root / (path or ("Tests/" + name if kind == "testTarget" else "Sources/" + name))
    if not folder.is_dir():
        problems.append(f"{name}: no directory {folder.relative_to(root)}")
        continue
    for file in sorted(folder.rglob("*.swift")):
        for module in import_re.findall(file.read_text()):
            if module in known and module != name and module not in deps:
                problems.append(f"{file.relative_to(root)}: imports {module}, which Package.swift does not list for {name}")

if len(targets) < 10:
    problems.append(f"read only {len(targets)} targets from Package.swift: the pattern no longer matches it")
for p in problems:
    print("check-imports:", p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"check-imports: {len(targets)} targets, every package import declared")
