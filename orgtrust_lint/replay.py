"""Answer a check whose inputs have not changed since it last ran, from the record of that run.

A pre-commit hook, an editor or CI runs the same check again and again over files that did not
change. An eligible run (a plain ``check`` of paths reported on standard output, neither stream a
terminal: see ``eligible``) records what it wrote, its exit code, and every file and directory it
read with its status (type, size, modification and change times, inode, device). The next run
with the same arguments, working directory, output encoding, date, environment variables that
matter and installation stats those inputs and, when none changed, writes the recorded output and
exits without importing the linter: a few milliseconds instead of a few hundred.

What a run read is taken from the interpreter's own audit events (PEP 578: every ``open`` and
every directory listing, by our code or by python-hcl2 and cfn-lint, in worker processes too), not
from a list that would have to be kept in step with the code. A probe that finds nothing (a
configuration file or ``.git`` looked for and absent) leaves no event; it is covered by the
directory that would hold it: every directory above an input, up to the repository top, is an
input, and adding, removing or renaming an entry changes a directory's modification time.
Code and data of the interpreter and installed packages are not inputs file by file: the
installation's directories (which any install or upgrade changes) and this package's own files are.

Timestamps have a granularity (a clock tick, more on some file systems), so a file changed twice
within one tick can keep its status. An input changed less than two seconds before the run is
recorded with a digest of its content (of its listing, for a directory), as git does for its
"racily clean" entries; a run during which an input changed records nothing.

Records are data (a fixed header, the output, one line of numbers per input), read with a size
bound, from the trusted cache directory (trusted_cache), which no other user and no repository can
plant entries in. Only runs that end with exit 0 or 1 are recorded: an incomplete run (3) or an
error (2) is always run again.
"""

from __future__ import annotations

import os
import stat
import sys
import time

from orgtrust_lint import __version__, trusted_cache

# Not typing at run time: it alone would cost a replayed run a fifth of its time (mypy reads this).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, NoReturn, TextIO

FORMAT = b"orgtrust-lint replay 1\n"
_RECORDS = "replay"  # the cache subdirectory records live in
_MAX_RECORD_BYTES = 64 * 1024 * 1024
_MAX_RECORDS = 256  # one per distinct command line and working directory; the oldest go first
# An input whose times are this close to the run's start may share them with an earlier version.
_RACY_NS = 2_000_000_000
# Each recent input is read again for its digest: for a tree written just before the run (a fresh
# checkout in CI, a generated tree) that is most of its files (0.3 s on the 5,011-file bench corpus),
# for a record that a later run, once they have settled, would have made anyway. Beyond this many
# recent inputs the run is not recorded; a few just edited (a pre-commit hook's) still are.
_MAX_RECENT_INPUTS = 256
# The kernel's file times lag the wall clock by up to a tick: anything this close to the start
# (or later) may have changed while the run read it.
_DURING_RUN_NS = 50_000_000

# The options a recorded run may use: they choose what is checked and how it is reported, and read
# only files (which are recorded). Anything else (--fix, --output, --base, --plan, stdin,
# --no-cache, --write-baseline, an abbreviation argparse would accept) runs normally.
_VALUE_OPTIONS = frozenset(
    (
        "--format",
        "--select",
        "--ignore",
        "--fail-on",
        "--config",
        "--jobs",
        "-j",
        "--baseline",
        "--repo-root",
        "--color",
    )
)
_FLAG_OPTIONS = frozenset({"--exit-zero", "--require-reason", "--no-prefilter"})
# The environment a check's output depends on (colour, documentation links, the cache itself).
_ENVIRONMENT = ("NO_COLOR", "FORCE_COLOR", "TERM", "CI")
_ENVIRONMENT_PREFIX = "ORGTRUST_LINT_"
# Never lint inputs: the interpreter's and packages' code (covered by the installation) and
# the kernel's pseudo file systems.
_CODE_SUFFIXES = (".py", ".pyc", ".so", ".pth")
_PSEUDO = ("/proc/", "/dev/", "/sys/")
_REPOSITORY_MARKERS = (".git", ".hg")

# What an input's status is compared on.
Status = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device
_FILE, _DIRECTORY_KIND, _ABSENT = "f", "d", "a"


def eligible(argv: list[str]) -> bool:
    """Whether this command line may be answered from a record, and recorded."""
    if not argv or argv[0] != "check" or sys.stdout.isatty() or sys.stderr.isatty():
        return False  # a terminal gets colour and progress, which are not replayed
    wants_value = only_paths = False
    for argument in argv[1:]:
        if wants_value:
            wants_value = False
        elif only_paths or not argument.startswith("-"):
            if argument == "-":
                return False  # standard input
        elif argument == "--":
            only_paths = True
        else:
            name, equals, _ = argument.partition("=")
            if name in _VALUE_OPTIONS:
                wants_value = not equals
            elif name not in _FLAG_OPTIONS or equals:
                return False
    return not wants_value


def _key(argv: list[str]) -> str:
    environment = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name in _ENVIRONMENT or name.startswith(_ENVIRONMENT_PREFIX)
    )
    parts = [
        FORMAT.decode(),
        __version__,
        sys.version,
        sys.executable,
        os.getcwd(),
        time.strftime("%Y-%m-%d"),  # inline ignores and configuration settings can expire
        f"{sys.stdout.encoding}:{sys.stdout.errors}:{sys.stderr.encoding}:{sys.stderr.errors}",
        *(f"{name}={value}" for name, value in environment),
        "--",
        *argv,
    ]
    digest = trusted_cache.builtin_sha256()()
    for part in parts:
        encoded = part.encode("utf-8", "surrogateescape")
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
    return str(digest.hexdigest())


def _status(info: os.stat_result) -> Status:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def _content_digest(path: str, kind: str) -> str:
    """The digest a racy input is recorded and checked with: its bytes, or its sorted listing."""
    digest = trusted_cache.builtin_sha256()()
    if kind == _DIRECTORY_KIND:
        for name in sorted(os.listdir(path)):
            digest.update(os.fsencode(name) + b"\0")
    else:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return str(digest.hexdigest())


# ---- answering from a record ---------------------------------------------------------------------


class _Record:
    """A run's exit code and output, and its inputs: (kind, path, status, digest or "-") each."""

    def __init__(self, code: int, stdout: str, stderr: str, inputs: list[tuple[str, str, Status, str]]) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        self.inputs = inputs


def _encode(record: _Record) -> bytes:
    """The header, the output, then per input "KIND DIGEST SIZE MTIME CTIME INODE DEVICE" and the
    path, each ended by a NUL (the one byte no path holds)."""
    out = record.stdout.encode("utf-8", "surrogateescape")
    err = record.stderr.encode("utf-8", "surrogateescape")
    header = f"{record.code} {len(out)} {len(err)} {len(record.inputs)}\n".encode()
    lines = [
        b"%s %s %d %d %d %d %d\0%s\0" % (kind.encode(), digest.encode(), *status, os.fsencode(path))
        for kind, path, status, digest in record.inputs
    ]
    return b"".join([FORMAT, header, out, err, *lines])


def _replayable(raw: bytes) -> tuple[int, str, str] | None:
    """The exit code and output of the record ``raw`` when every input it names is as it was then;
    None when any changed or ``raw`` is not a record. Checked as read: a run answered from its
    record spends most of its time here, one stat per input."""
    try:
        if not raw.startswith(FORMAT):
            return None
        header_end = raw.index(b"\n", len(FORMAT))
        code, out_size, err_size, count = (int(f) for f in raw[len(FORMAT) : header_end].split(b" "))
        out_start = header_end + 1
        err_start = out_start + out_size
        parts = raw[err_start + err_size :].split(b"\0")
        if len(parts) != 2 * count + 1 or parts[-1] != b"" or code not in (0, 1):
            return None
        if not _all_unchanged(parts[0:-1:2], parts[1::2]):
            return None
        stdout = raw[out_start:err_start].decode("utf-8", "surrogateescape")
        stderr = raw[err_start : err_start + err_size].decode("utf-8", "surrogateescape")
    except (ValueError, UnicodeDecodeError):
        return None
    return code, stdout, stderr


def _all_unchanged(heads: list[bytes], paths: list[bytes]) -> bool:
    # The loop of a replayed run: one stat per input and as little else as can be (names bound
    # locally, kinds compared as bytes' integer values).
    status_of, is_directory = os.stat, stat.S_ISDIR
    absent, directory, no_digest = ord("a"), ord("d"), ord("-")
    for head, path in zip(heads, paths, strict=True):
        try:
            info = status_of(path)
        except (FileNotFoundError, NotADirectoryError):
            if head[0] == absent:
                continue
            return False
        except OSError:
            return False
        kind = head[0]
        if kind == absent or is_directory(info.st_mode) != (kind == directory):
            return False
        digest, status = head[2:].split(b" ", 1)
        if status != b"%d %d %d %d %d" % (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev):
            return False
        if digest[0] != no_digest and not _same_content(path, head[:1].decode(), digest.decode()):
            return False
    return True


def _same_content(path: bytes, kind: str, digest: str) -> bool:
    try:
        return _content_digest(os.fsdecode(path), kind) == digest
    except OSError:
        return False


def _entry(argv: list[str]) -> tuple[trusted_cache.CacheStore, str] | None:
    store = trusted_cache.store()
    return (store, f"{_RECORDS}/{_key(argv)}") if store is not None else None


def answer(argv: list[str]) -> int | None:
    """Write the recorded output of this very run and give its exit code, or None (no record, or an
    input changed): then the run must happen."""
    found = _entry(argv)
    if found is None:
        return None
    store, name = found
    raw = store.read(name, _MAX_RECORD_BYTES)
    replayed = _replayable(raw) if raw is not None else None
    if replayed is None:
        return None
    code, stdout, stderr = replayed
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return code


# ---- recording a run -----------------------------------------------------------------------------


class _Tee:
    """A text stream that writes through to ``stream`` and keeps a copy of what it wrote."""

    def __init__(self, stream: TextIO, recording: Recording) -> None:
        self._stream = stream
        self._recording = recording
        self.copy: list[str] = []

    def write(self, text: str) -> int:
        self.copy.append(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        if name not in _TRANSPARENT:  # anything else could write past the copy: keep no record
            self._recording.complete = False
        return getattr(self._stream, name)


# What the linter asks of its output streams besides write: none of these writes anything.
_TRANSPARENT = frozenset({"flush", "fileno", "isatty", "encoding", "errors"})


class Recording:
    """The inputs and output of one run, gathered while it runs."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.started_ns = time.time_ns()
        self.complete = True
        self.pid = os.getpid()
        self.seen: dict[str, str] = {}  # absolute path -> kind at first sight
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, trusted_cache.location()}
        self.ignored = tuple(os.path.join(os.path.realpath(p), "") for p in prefixes) + tuple(
            os.path.join(os.path.abspath(p), "") for p in prefixes
        )
        self._streams: tuple[TextIO, TextIO] | None = None
        self._tees: tuple[_Tee, _Tee] | None = None

    # Called for every audit event of the process: keep the common case to one set lookup.
    def observe(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            if (mode is None and flags & (os.O_WRONLY | os.O_RDWR)) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            ):
                return  # written, not read (never an input of a check: those runs are not eligible)
            self._note(path, _FILE)
        elif event in ("os.scandir", "os.listdir"):
            self._note(args[0] if args[0] is not None else ".", _DIRECTORY_KIND)

    def _note(self, path: Any, kind: str) -> None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return  # a file descriptor: what it refers to was opened, and noted, by path
        if os.getpid() != self.pid:  # a forked worker: report only what it reads itself
            self.pid, self.seen = os.getpid(), {}
        absolute = os.path.abspath(path)
        if absolute in self.seen or absolute.endswith(_CODE_SUFFIXES) or absolute.startswith(_PSEUDO):
            return
        if os.path.join(absolute, "").startswith(self.ignored):  # inside, or one of them
            return
        self.seen[absolute] = kind

    def taken(self) -> dict[str, str]:
        """What this process read since the last call (a worker hands it back with its results)."""
        taken, self.seen = self.seen, {}
        return taken

    def merge(self, reads: dict[str, str]) -> None:
        for path, kind in reads.items():
            self.seen.setdefault(path, kind)

    def start(self) -> None:
        global _active
        _active = self
        _install_hook()
        self._streams = (sys.stdout, sys.stderr)
        self._tees = (_Tee(sys.stdout, self), _Tee(sys.stderr, self))
        sys.stdout, sys.stderr = self._tees

    def stop(self) -> None:
        global _active
        _active = None
        if self._streams is not None:
            sys.stdout, sys.stderr = self._streams

    def finish(self, code: int) -> None:
        """Stop, and keep the record when the run was complete and no input changed during it."""
        self.stop()
        if not self.complete or code not in (0, 1) or self._tees is None:
            return
        try:
            inputs = self._inputs()
        except OSError:
            return  # an input vanished or became unreadable while the run read it
        if inputs is None:
            return
        out, err = ("".join(tee.copy) for tee in self._tees)
        encoded = _encode(_Record(code, out, err, inputs))
        try:
            found = _entry(self.argv)
        except OSError:  # the working directory is gone
            return
        if found is None or len(encoded) > _MAX_RECORD_BYTES:
            return
        store, name = found
        store.write(name, encoded)
        _forget_oldest(store)

    def _inputs(self) -> list[tuple[str, str, Status, str]] | None:
        paths = set(self.seen)
        above: set[str] = set()
        # A listed directory is where its own walk starts: it may be the repository top itself.
        holding = {
            os.getcwd(),
            *(p if kind == _DIRECTORY_KIND else os.path.dirname(p) for p, kind in self.seen.items()),
        }
        for start in sorted(holding | _real_directories(holding)):
            above.update(_directories_up_to_repository_top(start, above))
        paths |= above | _installation()
        inputs = []
        recent = self.started_ns - _RACY_NS
        during = self.started_ns - _DURING_RUN_NS
        for path in sorted(paths):
            try:
                info = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                inputs.append((_ABSENT, path, (0, 0, 0, 0, 0), "-"))
                continue
            kind = _DIRECTORY_KIND if stat.S_ISDIR(info.st_mode) else _FILE
            latest = max(info.st_mtime_ns, info.st_ctime_ns)
            if latest >= during:
                return None  # changed while the run read it: what it read is not known
            if kind == _FILE and not stat.S_ISREG(info.st_mode):
                return None  # a FIFO or a device: never answer for it
            inputs.append((kind, path, _status(info), "?" if latest >= recent else "-"))
        if sum(1 for *_, digest in inputs if digest == "?") > _MAX_RECENT_INPUTS:
            return None
        recorded = []
        for kind, path, status, digest in inputs:
            if digest == "?":
                digest = _content_digest(path, kind)
                if _status(os.stat(path)) != status:
                    return None  # changed between its status and its digest: which one it holds is not known
            recorded.append((kind, path, status, digest))
        return recorded


def _real_directories(directories: set[str]) -> set[str]:
    """``os.path.realpath`` of each of ``directories`` (absolute and normalised), each directory above
    them resolved once: one lstat per directory instead of one per component of each (a cold run on
    the bench corpus holds a thousand directories)."""
    known: dict[str, str] = {}

    def real(directory: str) -> str:
        found = known.get(directory)
        if found is None:
            parent = os.path.dirname(directory)
            if parent == directory:
                found = directory
            else:
                found = os.path.join(real(parent), os.path.basename(directory))
                if os.path.islink(found):
                    found = os.path.realpath(found)
            known[directory] = found
        return found

    return {real(directory) for directory in directories}


def _directories_up_to_repository_top(directory: str, known: set[str]) -> Iterator[str]:
    """``directory`` and those above it up to the repository top (or the root), stopping early
    at one already in ``known`` (its own were listed then)."""
    while directory not in known:
        yield directory
        if any(os.path.lexists(os.path.join(directory, marker)) for marker in _REPOSITORY_MARKERS):
            return
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def _installation() -> set[str]:
    """This package's files and the directories packages are installed in: what decides the
    findings besides the inputs (an upgrade of any package changes its site directory)."""
    package = os.path.dirname(os.path.abspath(__file__))
    found = {os.path.dirname(package)}
    for directory, subdirectories, files in os.walk(package):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        found.add(directory)
        found.update(os.path.join(directory, name) for name in files)
    found.update(os.path.abspath(entry) for entry in sys.path if entry and os.path.isdir(entry))
    return found


def _forget_oldest(store: trusted_cache.CacheStore) -> None:
    directory = os.path.join(store.directory, _RECORDS)
    try:
        with os.scandir(directory) as entries:
            records = [(entry.stat(follow_symlinks=False).st_mtime_ns, entry.path) for entry in entries]
    except OSError:
        return
    for _, path in sorted(records)[:-_MAX_RECORDS]:
        try:  # noqa: SIM105 (contextlib would cost a replayed run its import)
            os.unlink(path)
        except OSError:
            pass


# ---- the process-wide hook -----------------------------------------------------------------------

_active: Recording | None = None
_hooked = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _active is not None and (event == "open" or event == "os.scandir" or event == "os.listdir"):
        try:
            _active.observe(event, args)
        except Exception:  # an audit hook that raises fails the open itself: never, keep no record instead
            _active.complete = False


def _install_hook() -> None:
    global _hooked
    if not _hooked:  # an audit hook cannot be removed; one is enough for every recording
        sys.addaudithook(_audit)
        _hooked = True


def probed(path: str) -> None:
    """``path`` was looked for or at without being opened (a stat, an existence test): record it,
    present or absent, since the outcome of the run may depend on it. Audit events cover only what
    is opened or listed."""
    recording = _active
    if recording is not None:
        try:
            recording._note(path, _FILE)
        except Exception:
            recording.complete = False


def active() -> Recording | None:
    """The run being recorded in this process, if any (worker processes inherit it when forked)."""
    return _active


def run(argv: list[str], main: Callable[[Recording | None], NoReturn]) -> NoReturn:
    """Answer ``argv`` from its record, or run ``main(recording)`` (which exits) recording it."""
    if not eligible(argv):
        main(None)
    try:
        code = answer(argv)
        if code is not None:
            sys.stdout.flush()
    except BrokenPipeError:  # as in cli.main: output piped into `head` and closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception:  # no working directory, say: never answered, and the run itself says what is wrong
        code = None
    if code is not None:
        sys.exit(code)
    try:
        recording: Recording | None = Recording(argv)
    except Exception:
        recording = None
    main(recording)
    raise AssertionError("main returns by exiting")  # pragma: no cover
