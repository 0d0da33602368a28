#!/usr/bin/env python3
"""
A power cut for tests (the idea of Jepsen's LazyFS): a FUSE passthrough filesystem over a backing
directory that remembers, per file, what it held at its last fsync/fdatasync. Writes go through to
the backing file at once (so the running process reads them back), but until the file is synced
the original bytes of every block they overwrite are kept, with the file's size at that sync.
When the filesystem is unmounted (after the test has killed the process with SIGKILL) every write
not covered by a sync is undone in the backing directory: the blocks come back, the file is cut to
its synced size (a file created and never synced is left empty). What survives is what a machine
that lost power would have on disk; the page cache, which survives a SIGKILL, is gone.

Not modelled: directory entries (create, rename, unlink) are durable at once, whether the
directory was fsync'd or not; flush/close never syncs.

    lazyfs.py <backing dir> <mount point>
prints `READY` once mounted and, after the unmount, one JSON line
`{"droppedBytes": n, "files": m}` (what the cut undid), then exits.
Needs libfuse2 (Debian `libfuse2`) and fusepy (PyPI `fusepy`, on PYTHONPATH).
"""
import errno
import json
import os
import sys
import threading

from fuse import FUSE, FuseOSError, Operations

BLOCK = 4096


class Unsynced:
    """A file's state since its last sync: its size then, and the original bytes of the blocks written since."""

    def __init__(self, synced_size):
        self.synced_size = synced_size
        self.saved = {}


class LazyFS(Operations):
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.mutex = threading.RLock()
        self.files = {}

    def _full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _state(self, full):
        s = self.files.get(full)
        if s is None:
            s = Unsynced(os.path.getsize(full) if os.path.exists(full) else 0)
            self.files[full] = s
        return s

    def _keep(self, full, s, start, end):
        """Saves the synced bytes of the blocks in [start, end) before they are overwritten."""
        end = min(end, s.synced_size)
        if start >= end:
            return
        fd = os.open(full, os.O_RDONLY)
        try:
            for b in range(start // BLOCK, (end - 1) // BLOCK + 1):
                if b not in s.saved:
                    s.saved[b] = os.pread(fd, min(BLOCK, s.synced_size - b * BLOCK), b * BLOCK)
        finally:
            os.close(fd)

    def drop_unsynced(self):
        """The power cut: every file back to what it held at its last sync."""
        dropped = 0
        files = 0
        with self.mutex:
            for full, s in self.files.items():
                if not os.path.exists(full):
                    continue
                size = os.path.getsize(full)
                if size == s.synced_size and not s.saved:
                    continue
                files += 1
                dropped += max(0, size - s.synced_size) + sum(len(v) for v in s.saved.values())
                fd = os.open(full, os.O_WRONLY)
                try:
                    for b, data in s.saved.items():
                        os.pwrite(fd, data, b * BLOCK)
                    os.ftruncate(fd, s.synced_size)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            self.files.clear()
        return {"droppedBytes": dropped, "files": files}

    # — lifecycle —
    def init(self, path):
        print("READY", flush=True)

    # — metadata —
    def getattr(self, path, fh=None):
        st = os.lstat(self._full(path))
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime", "st_mtime", "st_ctime")
        return {k: getattr(st, k) for k in keys}

    def access(self, path, amode):
        if not os.access(self._full(path), amode):
            raise FuseOSError(errno.EACCES)

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._full(path))

    def readlink(self, path):
        return os.readlink(self._full(path))

    def statfs(self, path):
        sv = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag",
                "f_frsize", "f_namemax")
        return {k: getattr(sv, k) for k in keys}

    def chmod(self, path, mode):
        os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._full(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._full(path), times)

    # — directory entries (durable at once, see above) —
    def mkdir(self, path, mode):
        os.mkdir(self._full(path), mode)

    def rmdir(self, path):
        os.rmdir(self._full(path))

    def unlink(self, path):
        full = self._full(path)
        with self.mutex:
            os.unlink(full)
            self.files.pop(full, None)

    def rename(self, old, new):
        a, b = self._full(old), self._full(new)
        with self.mutex:
            os.rename(a, b)
            self.files.pop(b, None)
            moved = {k: v for k, v in self.files.items() if k == a or k.startswith(a + "/")}
            for k, v in moved.items():
                del self.files[k]
                self.files[b + k[len(a):]] = v

    def symlink(self, target, source):
        os.symlink(source, self._full(target))

    def link(self, target, source):
        os.link(self._full(source), self._full(target))

    # — file data —
    def create(self, path, mode, fi=None):
        full = self._full(path)
        with self.mutex:
            fd = os.open(full, os.O_RDWR | os.O_CREAT | os.O_TRUNC, mode)
            self.files[full] = Unsynced(0)
            return fd

    def open(self, path, flags):
        return os.open(self._full(path), flags)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        full = self._full(path)
        with self.mutex:
            s = self._state(full)
            self._keep(full, s, offset, offset + len(data))
            return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        full = self._full(path)
        with self.mutex:
            s = self._state(full)
            self._keep(full, s, length, s.synced_size)
            os.truncate(full, length)

    def fsync(self, path, datasync, fh):
        full = self._full(path)
        with self.mutex:
            os.fsync(fh)
            s = self.files.get(full)
            if s is not None:
                s.synced_size = os.fstat(fh).st_size
                s.saved.clear()

    def fsyncdir(self, path, datasync, fh):
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: lazyfs.py <backing dir> <mount point>")
    fs = LazyFS(sys.argv[1])
    FUSE(fs, sys.argv[2], foreground=True, nothreads=True, big_writes=True)
    print(json.dumps(fs.drop_unsynced()), flush=True)


if __name__ == "__main__":
    main()
