"""repolicy's own modules, read from one file once a command line is read.

Python reads each module from a bytecode file of its own: it looks at the
directory, stats the source, opens and reads the `.pyc`, about 0.1 ms a
module. The pre-commit hook imports some forty of repolicy's modules on
every commit. The bundle holds their compiled code in one file, read once:
`benchmarks/bench_startup.py` (`bundle`) shows what that saves.

It lies where Python keeps this package's bytecode (its `__pycache__`, or
under PYTHONPYCACHEPREFIX), so it is trusted exactly as far as the `.pyc`
files beside it, and it is written only where those would be: not under
PYTHONDONTWRITEBYTECODE, not when the directory is read-only (a system
install then runs without it), never with `-O`. A module's code is used only
while its source has the size and modification time, to the nanosecond, it
had when the code was compiled. Any other module, or one whose source has
changed since, is imported the usual way, and the bundle is written again
when the command ends (`save`): a changed installation costs one run.

Only modules of the `repolicy` package are served, by a finder placed first
in `sys.meta_path`; their loader is Python's own source loader with the code
taken from the bundle, so `__file__`, `__spec__` and source lookups for
tracebacks are as they would be.
"""

from __future__ import annotations

# Python's own import machinery, loaded before any program starts.
import _frozen_importlib_external as _external
import marshal
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import CodeType, ModuleType

    # A module: its source file, whether it is a package, the source's
    # modification time (ns) and size, and its code, marshalled.
    Entry = tuple[str, bool, int, int, bytes | memoryview]

# The file: the length of its index (4 bytes, little-endian), the index (a
# marshalled (format, Python's bytecode magic, {module: (source, package,
# mtime, size, offset, length)})), then each module's marshalled code at its
# offset. Only the index is unmarshalled as the bundle is read; a module's
# code is read where it lies when the module is imported.
_FORMAT = 2
_CodeType = type((lambda: None).__code__)  # types.CodeType, without importing types
_PREFIX = "repolicy."
# A source modified this recently may change again within its timestamp's
# granularity without its stamp changing: it is not bundled (as the policy
# cache does with policy files).
_RACY_NS = 2_000_000_000


def _location() -> str | None:
    """Where the bundle is, beside the package's bytecode; None where Python
    keeps none (no cache tag) or runs optimized (`-O`: other code)."""
    if sys.flags.optimize or sys.implementation.cache_tag is None:
        return None
    try:
        pyc = _external.cache_from_source(__file__)
    except (NotImplementedError, ValueError):
        return None
    return os.path.join(os.path.dirname(pyc), f"modules.{sys.implementation.cache_tag}.bundle")


class _Loader(_external.SourceFileLoader):
    """Python's source loader, with the module's code given, not read."""

    def __init__(self, fullname: str, path: str, code: bytes | memoryview, finder: _Finder) -> None:
        super().__init__(fullname, path)
        self._code: bytes | memoryview | None = code
        self._finder = finder

    def get_code(self, fullname: str) -> CodeType | None:
        data, self._code = self._code, None
        if data is not None and fullname == self.name:
            try:
                code = marshal.loads(data)
            except (ValueError, EOFError, TypeError):
                code = None
            if isinstance(code, _CodeType):
                return code
            self._finder.drop(fullname)  # damaged on disk: compiled, and bundled anew
        return super().get_code(fullname)


class _Finder:
    """Finds each bundled module whose source is unchanged; else nothing, and
    the usual finders take over."""

    def __init__(self, path: str | None, table: dict[str, Entry]) -> None:
        self.path = path
        self.table = table
        self.served: dict[str, Entry] = {}
        self.changed = False  # an entry dropped: its source changed or vanished
        self.before: set[str] = set()  # imported before the bundle was read

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        entry = self.table.get(name)
        if entry is None:
            return None
        origin, package, mtime, size, code = entry
        try:
            st = os.stat(origin)
        except OSError:
            st = None
        if st is None or st.st_mtime_ns != mtime or st.st_size != size:
            self.drop(name)
            return None
        self.served[name] = entry
        spec: ModuleSpec | None = _external.spec_from_file_location(
            name,
            origin,
            loader=_Loader(name, origin, code, self),
            submodule_search_locations=[os.path.dirname(origin)] if package else None,
        )
        return spec

    def drop(self, name: str) -> None:
        """Serve `name` no more: its source changed, or its code is damaged."""
        self.table.pop(name, None)
        self.served.pop(name, None)
        self.changed = True


_finder = _Finder(None, {})


def install() -> None:
    """Read the bundle, if there is one, and serve its modules from now on (once
    per process). The command line calls it once it knows there is a command to
    run (`--version` needs none); what was imported before is read as usual."""
    global _finder
    if _finder in sys.meta_path or _finder.path is not None:
        return
    path = _location()
    table = _read(path) if path is not None else {}
    _finder = _Finder(path, table)
    _finder.before = set(sys.modules)
    if table:
        sys.meta_path.insert(0, _finder)


def _read(path: str) -> dict[str, Entry]:
    """The modules a bundle file holds; none when there is no file, or one this
    Python did not write whole (`save` then writes it anew)."""
    try:
        return _parse(path)
    except (OSError, ValueError, EOFError, TypeError):
        return {}


def _parse(path: str) -> dict[str, Entry]:
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")  # a FIFO would block the read
        data = os.read(fd, st.st_size)
    finally:
        os.close(fd)
    length = int.from_bytes(data[:4], "little")
    form, magic, index = marshal.loads(data[4 : 4 + length])
    if form != _FORMAT or magic != _external.MAGIC_NUMBER or not isinstance(index, dict):
        raise ValueError("another format, or another Python's")
    body = memoryview(data)[4 + length :]
    table: dict[str, Entry] = {}
    for name, (origin, package, mtime, size, offset, count) in index.items():
        if not 0 <= offset <= offset + count <= len(body):
            raise ValueError("cut short")
        table[name] = (origin, package, mtime, size, body[offset : offset + count])
    return table


def _write(path: str, table: dict[str, Entry]) -> None:
    from repolicy.atomic import replace_file

    index: dict[str, tuple[str, bool, int, int, int, int]] = {}
    codes: list[bytes] = []
    offset = 0
    for name, (origin, package, mtime, size, code) in sorted(table.items()):
        codes.append(bytes(code))
        index[name] = (origin, package, mtime, size, offset, len(code))
        offset += len(code)
    head = marshal.dumps((_FORMAT, _external.MAGIC_NUMBER, index))
    data = b"".join((len(head).to_bytes(4, "little"), head, *codes))
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    replace_file(path, data, path, root=directory, durable=False)


def _entry(module: ModuleType, now: int) -> Entry | None:
    """A module imported the usual way, compiled for the bundle; None for one
    that is not a source file of this package, or one modified too recently."""
    spec: ModuleSpec | None = getattr(module, "__spec__", None)
    if spec is None:
        return None
    loader, origin = spec.loader, spec.origin
    if not isinstance(loader, _external.SourceFileLoader) or origin is None:
        return None
    try:
        st = os.stat(origin)
        if now - st.st_mtime_ns < _RACY_NS:
            return None
        # Stat first: a source changed after it makes a stale stamp, never stale code.
        code = loader.get_code(spec.name)
    except (OSError, ImportError, SyntaxError):
        return None
    if code is None:
        return None
    package = spec.submodule_search_locations is not None
    return (origin, package, st.st_mtime_ns, st.st_size, marshal.dumps(code))


def save() -> None:
    """Write the bundle again if this run imported a module of the package
    it did not serve: every module it holds and every one imported since.
    Done as a command ends, so it costs the runs that need it and no other;
    a failure to write is no error (the next run imports as usual)."""
    finder = _finder
    if finder.path is None or sys.dont_write_bytecode:
        return
    import time

    now = time.time_ns()
    table = dict(finder.table)
    changed = finder.changed
    for name, module in list(sys.modules.items()):
        if not name.startswith(_PREFIX) or name in finder.served or name in finder.before:
            continue
        entry = _entry(module, now)
        if entry is not None:
            table[name] = entry
            changed = True
    if not changed:
        return
    import contextlib

    from repolicy.errors import RepolicyError

    with contextlib.suppress(OSError, RepolicyError):
        _write(finder.path, table)
