# -*- coding: utf-8 -*-
"""The code `refgraph attach` runs inside the process it snapshots. Runs on
Python 2.7 and 3.x.

It is never imported: the CLI has the target run a one-line loader that
execs this file's source in a private namespace whose CONFIG (bytes paths)
says where to write. The loader's frame and this file's frames are observers:
the capture leaves them out.

What it leaves behind is nothing, as far as the interpreter allows:
- every module it imported that was not there before is taken out of
  sys.modules again (but a codec the collector looked up, which the codec
  registry keeps) (and out of sys.path_importer_cache); the pure-Python
  collector's imports of json and struct are replaced by small stand-ins,
  so the standard library's copies (and what they register, like re's
  copyreg hook) never enter the target;
- the collector's source runs in a namespace of its own, cleared afterwards;
- an extension module stays loaded once loaded (no CPython unloads one), so
  the fast collector's code remains mapped;
- no thread is started, no exception escapes (PyRun_SimpleString would print
  it, and a pending call that fails makes the interrupted code fail).
"""

import sys

PY2 = sys.version_info[0] == 2


def _text(b):
    """A path given as bytes, as the interpreter's own path type."""
    if PY2 or not isinstance(b, bytes):
        return b
    return b.decode(sys.getfilesystemencoding(), "surrogateescape")


def _observer_frames():
    """How many frames from the caller of this function up are ours: up to
    this file's module frame, and the loader's above it (the `<string>`
    module frame PyRun_SimpleString runs in __main__'s namespace)."""
    f = sys._getframe(1)
    n = 0
    while f is not None:
        n += 1
        if f.f_code.co_name == "<module>" and f.f_globals.get("__name__") == "__refgraph_attach__":
            return n + 1
        f = f.f_back
    raise RuntimeError("refgraph attach: the loader's frame is not on the stack")


# --- stand-ins for the pure collector's imports ------------------------------

class _Module(object):
    pass


def _json_dumps(value):
    out = []
    _json_put(out, value)
    return "".join(out)


def _json_put(out, v):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, (int, float)) or (PY2 and isinstance(v, long)):  # noqa: F821
        out.append(repr(v))
    elif isinstance(v, dict):
        out.append("{")
        for i, (k, x) in enumerate(v.items()):
            if i:
                out.append(", ")
            _json_put(out, k)
            out.append(": ")
            _json_put(out, x)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(", ")
            _json_put(out, x)
        out.append("]")
    else:
        if PY2 and isinstance(v, str):
            v = v.decode("utf-8", "replace")
        elif not isinstance(v, (str, type(u""))):
            v = str(v)
        s = ['"']
        for c in v:
            o = ord(c)
            if c == '"' or c == "\\":
                s.append("\\" + c)
            elif o < 0x20 or o > 0x7E:
                if o > 0xFFFF:
                    o -= 0x10000
                    s.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
                else:
                    s.append("\\u%04x" % o)
            else:
                s.append(c)
        s.append('"')
        out.append("".join(s))


def _struct_pack(fmt, n):
    sizes = {"<Q": 8, "<I": 4}
    if fmt not in sizes:
        raise ValueError("refgraph attach: unsupported struct format %r" % (fmt,))
    b = bytearray()
    for _ in range(sizes[fmt]):
        b.append(n & 0xFF)
        n >>= 8
    return bytes(b)


def _without_imports(source):
    """The collector's source with its imports of json and struct taken out
    (the namespace gets stand-ins), and functools' partial read from the
    built-in _functools when functools is not loaded. Not by a private
    __import__: Python 2 runs code with builtins of its own in restricted
    mode."""
    lines = source.split(b"\n")
    for i, line in enumerate(lines):
        if line.rstrip() in (b"import json", b"import struct"):
            lines[i] = b""
        elif "functools" not in sys.modules and line.strip() == b"from functools import partial as _partial":
            lines[i] = line.replace(b"from functools", b"from _functools")
    return b"\n".join(lines)


def _stand_ins():
    json = _Module()
    json.dumps = _json_dumps
    struct = _Module()
    struct.pack = _struct_pack
    return {"json": json, "struct": struct}


# --- the two collectors -------------------------------------------------------

def _native_module(config):
    """refgraph's extension for this interpreter, loaded from the folders the
    CLI named (or already loaded), without importing the refgraph package;
    None if there is none."""
    loaded = sys.modules.get("refgraph._native")
    if loaded is not None:
        return loaded
    if PY2 or sys.version_info < (3, 9):
        return None
    import os
    tag = "cp%d%d" % sys.version_info[:2]
    for d in config.get(b"native", {}).get(tag.encode("ascii"), []):
        pkg = os.path.join(_text(d), "refgraph")
        try:
            names = sorted(os.listdir(pkg))
        except OSError:
            continue
        for name in names:
            if name.startswith("_native.") and name.endswith(".so"):
                return _load_extension("refgraph._native", os.path.join(pkg, name))
    return None


def _load_extension(name, path):
    # The import system's own classes, always loaded: no importlib.util.
    bootstrap = sys.modules["_frozen_importlib"]
    external = sys.modules["_frozen_importlib_external"]
    loader = external.ExtensionFileLoader(name, path)
    spec = bootstrap.ModuleSpec(name, loader, origin=path)
    module = loader.create_module(spec)
    loader.exec_module(module)
    return module


def _capture_native(native, out, strings):
    return native.dump(out, observer_frames=_observer_frames(), strings=strings)


def _capture_pure(config, out, strings):
    path = _text(config[b"collector_py"])
    f = open(path, "rb")
    try:
        source = f.read()
    finally:
        f.close()
    namespace = _stand_ins()
    namespace["__name__"] = "refgraph_collector"
    try:
        # Not compile(): on Python 2 it would create the ast node types for good.
        exec(_without_imports(source), namespace)
        return namespace["dump"](out, observer_frames=_observer_frames(), strings=strings)
    finally:
        namespace.clear()


def _capture(config):
    out = _text(config[b"out"])
    which = config.get(b"collector", b"auto")
    strings = config.get(b"strings", True)  # False: `attach --no-strings`
    if which != b"python":
        native = _native_module(config)
        if native is not None:
            return _capture_native(native, out, strings) + ("native",)
        if which == b"native":
            raise RuntimeError("no refgraph extension for Python %d.%d can be loaded here" % sys.version_info[:2])
    return _capture_pure(config, out, strings) + ("python",)


def _forget_new(modules_before, importers_before):
    for name in list(sys.modules):
        # A codec's module stays: the codec registry keeps it for good, and a
        # module held but gone from sys.modules is the very stale copy
        # refgraph is for.
        if name not in modules_before and not name.startswith("encodings."):
            del sys.modules[name]
    cache = getattr(sys, "path_importer_cache", None)
    if cache is not None:
        for key in list(cache):
            if key not in importers_before:
                del cache[key]


def _main(config):
    import os
    if not os.path.isdir(os.path.dirname(_text(config[b"status"]))):
        # Run late (sys.remote_exec after the CLI gave up): nobody waits.
        return
    modules_before = set(sys.modules)
    importers_before = set(getattr(sys, "path_importer_cache", {}))
    status = None
    try:
        nodes, edges, seconds, collector = _capture(config)
        status = "ok\t%d\t%d\t%.3f\t%s\t%d.%d" % ((nodes, edges, seconds, collector) + tuple(sys.version_info[:2]))
    except BaseException:
        # Never raised out of here (see the module doc); said to the CLI.
        e = sys.exc_info()[1]
        status = "error\t%s: %s" % (type(e).__name__, e)
        del e
    finally:
        _forget_new(modules_before, importers_before)
    tmp = _text(config[b"status"]) + ".tmp"
    f = open(tmp, "w")
    try:
        f.write(status.replace("\n", " ") + "\n")
    finally:
        f.close()
    os.rename(tmp, _text(config[b"status"]))


if __name__ == "__refgraph_attach__":
    try:
        _main(CONFIG)  # noqa: F821  (given by the loader)
    finally:
        globals().clear()
