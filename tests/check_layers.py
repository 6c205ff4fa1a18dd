#!/usr/bin/env python3
"""check_layers.py SRC — the layering rules of the source tree (ctest test_layers, run in CI).

1. Every folder is a layer and may include only its own headers and those of the layers listed for it in
   LAYERS (CMakeLists.txt gives each layer a library whose include path holds exactly those folders; this
   check says the same with a readable message, and also covers code CMake does not compile here, e.g. CUDA).
2. No include cycle between modules: a module is a file stem in a folder (x.c/x.cu + x.h/x.cuh, and
   x_internal.h: the module's private declarations); module A depends on B when a file of A includes B's header. A cycle, within a folder or across folders, is an error.
3. Header names are unique across the tree (includes are by plain name: "x.h").

Exit 0 and one summary line when the tree follows the rules, 1 with one line per violation otherwise.
`--self-test` checks that the checker itself catches an upward include, a cycle and an unknown layer.
"""
import os
import re
import sys

# layer → the layers it may include (besides itself). apps/ may include everything; tests/ are not checked.
LAYERS = {
    'core/util': [],
    'core/tensor': ['core/util'],
    'core/ops': ['core/util', 'core/tensor'],
    'core/model': ['core/util', 'core/tensor', 'core/ops'],
    'core/diffusion': ['core/util', 'core/tensor', 'core/ops', 'core/model'],
    'core/optim': ['core/util', 'core/tensor'],
    'core/vae': ['core/util', 'core/tensor'],
    'core/data': ['core/util'],
    'core/eval': ['core/util', 'core/tensor', 'core/vae', 'core/data'],
    'backend_cpu': ['core/util', 'core/tensor'],
    'backend_cuda': ['core/util', 'core/tensor'],
    'comm': ['core/util', 'core/tensor'],
    'core/device': ['core/util', 'core/tensor', 'backend_cpu', 'backend_cuda'],
    'core/run': ['core/util', 'core/tensor', 'core/ops', 'core/model', 'core/diffusion', 'core/optim', 'core/vae',
                 'core/data', 'core/eval', 'backend_cpu', 'backend_cuda', 'comm', 'core/device'],
}
TOP = 'apps'
SOURCE_EXT = ('.c', '.h', '.cu', '.cuh')
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def scan(src):
    """{relative path: [included names]} for every source file of a layer folder and apps/."""
    files = {}
    for folder in list(LAYERS) + [TOP]:
        d = os.path.join(src, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(SOURCE_EXT):
                with open(os.path.join(d, name), encoding='utf-8') as f:
                    files[f'{folder}/{name}'] = INCLUDE.findall(f.read())
    for root, dirs, names in os.walk(os.path.join(src, 'core')):
        rel = os.path.relpath(root, src)
        if rel != 'core' and rel not in LAYERS and any(n.endswith(SOURCE_EXT) for n in names):
            files[f'{rel}/?'] = None  # a folder the rules do not know
        if rel == 'core' and any(n.endswith(SOURCE_EXT) for n in names):
            files['core/?'] = None
    return files


def module(path):
    folder, name = path.rsplit('/', 1)
    stem = name.rsplit('.', 1)[0]
    if stem.endswith('_internal'):
        stem = stem[:-len('_internal')]
    return f'{folder}/{stem}'


def check(files):
    errors = []
    headers = {}
    for path, inc in files.items():
        if inc is None:
            errors.append(f'{path.rsplit("/", 1)[0]}/: a folder with sources that is not a layer of check_layers.py '
                          '(add it to LAYERS and to CMakeLists.txt)')
            continue
        name = path.rsplit('/', 1)[1]
        if name.endswith(('.h', '.cuh')):
            if name in headers:
                errors.append(f'{path}: header name also used by {headers[name]} (includes are by plain name)')
            headers[name] = path
    deps = {}
    for path, inc in files.items():
        if inc is None:
            continue
        folder = path.rsplit('/', 1)[0]
        allowed = None if folder == TOP else set(LAYERS[folder]) | {folder}
        for name in inc:
            target = headers.get(name)
            if target is None:
                continue  # a system or generated header
            tfolder = target.rsplit('/', 1)[0]
            if allowed is not None and tfolder not in allowed:
                errors.append(f'{path}: includes "{name}" of layer {tfolder}/, which {folder}/ may not use '
                              f'(allowed: {", ".join(sorted(allowed))})')
            a, b = module(path), module(target)
            if a != b:
                deps.setdefault(a, set()).add(b)
    for cyc in cycles(deps):
        errors.append('include cycle between modules: ' + ' -> '.join(cyc + [cyc[0]]))
    return errors, len([p for p in files if files[p] is not None])


def cycles(deps):
    """The strongly connected components with more than one module (Tarjan), each as one cycle through it."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(deps.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(path_through(sorted(comp), deps))

    for v in sorted(deps):
        if v not in index:
            visit(v)
    return out


def path_through(comp, deps):
    """A cycle inside the component, starting at its first module (breadth-first back to the start)."""
    members, start = set(comp), comp[0]
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(deps.get(v, ())):
                if w == start:
                    cyc = [v]
                    while prev[cyc[-1]] is not None:
                        cyc.append(prev[cyc[-1]])
                    return list(reversed(cyc))
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp


def self_test():
    ok = True
    good = {'core/util/a.h': [], 'core/util/a.c': ['a.h'], 'core/tensor/t.h': ['a.h'], 'core/tensor/t.c': ['t.h']}
    e, _ = check(good)
    ok &= e == []
    up = dict(good, **{'core/util/a.c': ['a.h', 't.h']})
    e, _ = check(up)
    ok &= any('may not use' in x for x in e)
    cyc = dict(good, **{'core/tensor/u.h': ['t.h'], 'core/tensor/t.c': ['t.h', 'u.h'], 'core/tensor/u.c': ['u.h']})
    e, _ = check(cyc)
    ok &= any('include cycle' in x and 'core/tensor/t' in x and 'core/tensor/u' in x for x in e)
    e, _ = check(dict(good, **{'core/extra/?': None}))
    ok &= any('not a layer' in x for x in e)
    e, _ = check(dict(good, **{'core/tensor/a.h': []}))
    ok &= any('header name also used' in x for x in e)
    print('check_layers self-test:', 'PASS' if ok else 'FAIL')
    return ok


def main(argv):
    if argv[1:] == ['--self-test']:
        return 0 if self_test() else 1
    if len(argv) != 2:
        print(__doc__)
        return 2
    if not self_test():
        return 1
    errors, n = check(scan(argv[1]))
    for e in errors:
        print('FAIL', e)
    if errors:
        print(f'check_layers: {len(errors)} violation(s) in {n} files')
        return 1
    print(f'check_layers: {n} files in {len(LAYERS) + 1} layers, no upward include, no include cycle')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
