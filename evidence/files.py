"""Files: which ones :mod:`evidence` reads, and the one way it replaces one.

- :func:`not_regular`: why a file that is there cannot be read (a directory, a named pipe, a
  device, a socket), checked before it is opened so that reading never hangs or runs forever;
  used for ``.bib`` files and the sources of ``evidence add`` (:func:`evidence.bib.read_text`),
  protocol files (:mod:`evidence.protocol`) and CSL style files (:mod:`evidence.citations`).
- :func:`write_atomically`: used for ``.bib`` files (:func:`evidence.bib.write_bib`) and for
  the workbook (:func:`evidence.workbook.write_workbook`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["not_regular", "write_atomically"]

_KINDS = {
    stat.S_IFIFO: "named pipe",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


def not_regular(mode: int, what: str) -> str | None:
    """Why a file of ``mode`` (its ``os.stat`` mode) cannot be read as ``what``, or ``None``
    for a regular file.

    >>> import stat
    >>> not_regular(stat.S_IFIFO | 0o644, "a .bib file")
    'is a named pipe, not a regular file (a .bib file expected)'
    >>> not_regular(stat.S_IFDIR | 0o755, "a .bib file")
    'is a directory, not a .bib file'
    >>> not_regular(stat.S_IFREG | 0o644, "a .bib file") is None
    True
    """
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"is a directory, not {what}"
    kind = _KINDS.get(stat.S_IFMT(mode), "special file")
    return f"is a {kind}, not a regular file ({what} expected)"


def write_atomically(
    path: str | os.PathLike[str],
    data: bytes | Iterable[bytes],
    *,
    before_replace: Callable[[], None] | None = None,
) -> Path:
    """Replace ``path`` with ``data`` all at once, or not at all.

    The data go to a new hidden file in the same folder (``.NAME.XXXXXXXXXXXX.tmp``), are
    flushed and fsynced, and the file is renamed over ``path``, so a reader sees the old or the
    new content, never a mix, and a failure at any step leaves the old file untouched (the
    temporary file is removed). A symbolic link is written through: its target is replaced and
    the link kept. An existing file's permission bits are kept, and its group (and, for root,
    its owner) where the system allows; a new file gets ``0o666`` less the umask, like any file a
    program creates. A file without write permission is refused (:class:`PermissionError`), as
    an editor refuses it, although the rename would go through.

    Parameters
    ----------
    path
        The file to replace (or create).
    data
        Its new bytes, or pieces of them in order (written as they come, so that a large
        document is never held whole in memory).
    before_replace
        Called just before the rename; whatever it raises aborts the write (used to refuse
        when the file changed since it was read).

    Returns
    -------
    pathlib.Path
        The file written (the symbolic link's target, if ``path`` is a link).

    Raises
    ------
    OSError
        If the temporary file cannot be created or written, or the rename fails.
    """
    target = Path(os.path.realpath(path))
    try:
        existing: os.stat_result | None = target.stat()
    except FileNotFoundError:
        existing = None
    if existing is not None and (not existing.st_mode & 0o222 or not os.access(target, os.W_OK)):
        # renaming over it would succeed (the folder is what counts), so ask as an editor does
        raise PermissionError(errno.EACCES, "the file is read-only", str(path))
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes | bytearray | memoryview):
                handle.write(data)
            else:
                handle.writelines(data)
            handle.flush()
            os.fsync(handle.fileno())
        if existing is not None:
            _keep_owner(tmp, existing)
            os.chmod(tmp, existing.st_mode & 0o7777)  # after chown, which may clear set-id bits
        if before_replace is not None:
            before_replace()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _keep_owner(path: Path, was: os.stat_result) -> None:
    """Give ``path`` the group (and, for root, the owner) of the file it replaces, where the
    system allows it; a user outside the file's group leaves the new file in their own."""
    if (was.st_uid, was.st_gid) == (os.geteuid(), os.getegid()):
        return
    with contextlib.suppress(OSError):
        os.chown(path, was.st_uid if os.geteuid() == 0 else -1, was.st_gid)
