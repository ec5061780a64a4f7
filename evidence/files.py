"""Writing a file atomically: the one way :mod:`evidence` replaces a file.

Used for ``.bib`` files (:func:`evidence.bib.write_bib`) and for the workbook
(:func:`evidence.workbook.write_workbook`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["write_atomically"]


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
    the link kept. An existing file's permission bits are kept; a new file gets ``0o666`` less
    the umask, like any file a program creates.

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
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
