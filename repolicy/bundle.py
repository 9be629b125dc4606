"""repolicy's own modules, read from one file when a command starts.

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
    Entry = tuple[str, bool, int, int, bytes]

_FORMAT = 1
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

    def __init__(self, fullname: str, path: str, code: bytes, finder: _Finder) -> None:
        super().__init__(fullname, path)
        self._code: bytes | None = code
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
    """Read the bundle, if there is one, and serve its modules from now on."""
    global _finder
    path = _location()
    table: dict[str, Entry] = {}
    if path is not None:
        try:
            with open(path, "rb") as file:
                form, magic, found = marshal.loads(file.read())
            if form == _FORMAT and magic == _external.MAGIC_NUMBER and isinstance(found, dict):
                table = found
        except (OSError, ValueError, EOFError, TypeError):
            pass  # none yet, or unreadable: `save` writes it anew
    _finder = _Finder(path, table)
    if table:
        sys.meta_path.insert(0, _finder)


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
        if not name.startswith(_PREFIX) or name == __name__ or name in finder.served:
            continue
        entry = _entry(module, now)
        if entry is not None:
            table[name] = entry
            changed = True
    if not changed:
        return
    from repolicy.atomic import replace_file
    from repolicy.errors import RepolicyError

    data = marshal.dumps((_FORMAT, _external.MAGIC_NUMBER, table))
    directory = os.path.dirname(finder.path)
    try:
        os.makedirs(directory, exist_ok=True)
        replace_file(finder.path, data, finder.path, root=directory, durable=False)
    except (OSError, RepolicyError):
        pass
