"""Writing the files a user names: checked before the work, nothing replaced
that is not ours, nothing computed lost.

Every output of the command line (``train --json``, ``results --csv``,
``report -o``, ``paper -o``, a sweep's ``--store``) goes through this module:

* :func:`check_output_file` and :func:`check_output_dir` say, before any
  training, whether a path can be written (not empty, not a directory where a
  file is wanted, every name at most the file system's limit, its directory
  existing and writable -- tried with a probe file, so a read-only mount is
  found even by root);
* :func:`write_text` writes a file: ``"-"`` is stdout; a regular file (or a
  new one) is replaced atomically (a temporary file, then a rename); anything
  else -- a symlink, a FIFO, a device such as ``/dev/null`` -- is written
  *through* (opened and written), never replaced;
* a write that fails anyway (a full disk, a read-only file system) removes
  its partial file and raises :class:`OutputError`, one line naming the path;
  with ``keep=True`` the text is first saved to a fallback file in the
  temporary directory, which the message names.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from neurosim.errors import ConfigError, NeuroSimError

#: Longest file name (one path component, in bytes) when the system cannot say.
NAME_MAX = 255


class OutputError(NeuroSimError):
    """Writing an output failed after the work was done (the message names the path
    and, for a record, the fallback file that holds it)."""


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return NAME_MAX


def _check_names(flag: str, path: Path) -> None:
    """Every component of `path` within the file system's name length."""
    limit = _name_max(_existing_ancestor(path))
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise ConfigError(
                flag, str(path), f"names of at most {limit} bytes (one is {len(os.fsencode(part))})"
            )


def _existing_ancestor(path: Path) -> Path:
    """The nearest existing directory at or above `path` (``.`` for a relative one)."""
    p = path.absolute()
    while not os.path.exists(p) and p != p.parent:
        p = p.parent
    return p


def _probe(flag: str, path: Path, directory: Path) -> None:
    """Create and remove a file in `directory`: writability, read-only mounts included."""
    try:
        fd, name = tempfile.mkstemp(prefix=".neurosim-probe-", dir=directory)
    except OSError as e:
        raise ConfigError(
            flag, str(path), f"a writable place ({str(directory)!r}: {_why(e)})"
        ) from None
    os.close(fd)
    os.unlink(name)


def check_nonempty(flag: str, path: str | Path | None) -> None:
    """An empty path given to `flag` is an error (it would silently mean ``.``)."""
    if path is not None and str(path).strip() == "":
        raise ConfigError(flag, str(path), "a path (it is empty)")


def check_output_file(flag: str, path: str | Path) -> None:
    """Check, before any work, that `path` can be written as a file.

    Parameters
    ----------
    flag : str
        The option that named it (``json``), for the message.
    path : str or Path
        The target; ``"-"`` (stdout) always passes.

    Raises
    ------
    ConfigError
        Empty, a directory, a name too long, or a directory that is missing
        or cannot be written.
    """
    check_nonempty(flag, path)
    if str(path) == "-":
        return
    p = Path(path)
    _check_names(flag, p)
    if os.path.isdir(p):
        raise ConfigError(flag, str(p), "a file path, not a directory")
    if os.path.exists(p) and not os.path.isfile(p):
        # a FIFO or device, written through, never replaced: it only has to accept writes
        if not os.access(p, os.W_OK):
            raise ConfigError(flag, str(p), "a file that can be written (permission denied)")
        return
    if os.path.islink(p):  # written through to its target, which may not exist yet
        p = Path(os.path.realpath(p))
    parent = p.parent if str(p.parent) else Path(".")
    if not os.path.isdir(parent):
        raise ConfigError(flag, str(p), "a file path in an existing directory")
    _probe(flag, p, parent)


def check_output_dir(flag: str, path: str | Path) -> None:
    """Check, before any work, that `path` is (or can be made) a writable directory."""
    check_nonempty(flag, path)
    p = Path(path)
    _check_names(flag, p)
    if os.path.exists(p) and not os.path.isdir(p):
        raise ConfigError(flag, str(p), "a directory (existing or to be created)")
    base = _existing_ancestor(p)
    if not os.path.isdir(base):
        raise ConfigError(flag, str(p), f"a directory ({str(base)!r} is a file)")
    _probe(flag, p, base)


def _through(p: Path) -> bool:
    """Whether `p` exists and is not a plain regular file (written through)."""
    try:
        st = os.lstat(p)
    except OSError:
        return False
    return not stat.S_ISREG(st.st_mode)


def _mode(p: Path) -> int:
    """The permission bits of the file `p` replaces: its own, else 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(p).st_mode)
    except OSError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


def save_fallback(text: str, name: str) -> Path | None:
    """Save `text` in the temporary directory; its path, or None if that fails too."""
    stem = Path(name).name[:100] or "output"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"neurosim-{stem}-", suffix=".saved")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError:
        return None
    return Path(tmp)


def write_text(path: str | Path, text: str, *, keep: bool = False, what: str = "output") -> None:
    """Write `text` to `path` (``"-"``: stdout), never replacing what is not a file.

    Parameters
    ----------
    path : str or Path
        The target. A regular file (or a new one) is replaced atomically;
        a symlink, FIFO or device is opened and written through.
    text : str
        The content (UTF-8).
    keep : bool
        If the write fails, first save `text` to a fallback file and name it
        in the error (for results that cannot be computed again cheaply).
    what : str
        What is written (``record``), for the message.

    Raises
    ------
    OutputError
        The write failed; no partial file is left behind.
    """
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    p = Path(path)
    tmp: Path | None = None
    try:
        if _through(p):
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
            return
        fd, name = tempfile.mkstemp(prefix=f".{p.name[:100]}.", suffix=".tmp",
                                    dir=p.parent if str(p.parent) else ".")  # fmt: skip
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, _mode(p))  # as a plain open would have made it, not mkstemp's 0600
        os.replace(tmp, p)
        tmp = None
    except OSError as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise _failed(p, e, text if keep else None, what) from None


def _failed(p: Path, e: OSError, text: str | None, what: str) -> OutputError:
    msg = f"cannot write {what} {str(p)!r}: {_why(e)}"
    if text is not None:
        saved = save_fallback(text, p.name)
        msg += (f"; the {what} was saved to {str(saved)!r}" if saved is not None
                else f"; the {what} could not be saved anywhere")  # fmt: skip
    return OutputError(msg)


@contextlib.contextmanager
def writing(path: str | Path, what: str = "output") -> Iterator[Path]:
    """Guard a write made by other code (a figure's ``savefig``): an OSError
    removes the partial file and becomes an :class:`OutputError` naming it."""
    p = Path(path)
    existed = os.path.lexists(p)
    try:
        yield p
    except OSError as e:
        if not existed and not _through(p):
            with contextlib.suppress(OSError):
                p.unlink()
        raise _failed(p, e, None, what) from None
