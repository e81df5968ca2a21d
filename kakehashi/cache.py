"""Shared by the stages that reuse earlier work: serve's memory and build's cache folder.

A stage that can skip work asks `Reuse.values(kind, slots, key, compute)`. Each item
(`slot`: a section file, an entry, a page) has a key, a `fingerprint` of everything its
value depends on. Its value comes from serve's `BuildCache` when that holds the key, else
from the cache folder, else `compute` makes every missing value at once (so that a stage
can make them in parallel). A plain `build` without a cache folder computes everything and
spends no time on keys.

The cache folder (`.kakehashi-cache/OUT/` beside the output folder `OUT`, `build` only)
holds one file per kind with the values the last build used, under their keys. Each file
starts with a digest of the Kakehashi code that builds and the libraries' versions,
then a digest of its own contents: a file that does not match is ignored, so a changed or
corrupt cache gives a full build of that stage, never a wrong page. Files are replaced
atomically, so an interrupted or concurrent build leaves whole files.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import tempfile
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__

LOG = logging.getLogger("kakehashi")
CACHE_FOLDER = ".kakehashi-cache"
MAGIC = b"kakehashi-cache 1\n"
PACKAGE_DIR = Path(__file__).resolve().parent
# Not build's code. (parity.py is build's too: the side-by-side pages align by its figures.)
OTHER_COMMANDS = ("cli.", "serve.", "quick.", "preview.", "check.", "pdf.", "import")
LIBRARIES = ("markdown", "jinja2", "pybtex", "yaml", "markupsafe", "latexcodec")
MISSING = object()  # no value under that key


class Missing(Exception):
    """Raised into `BuildCache.memo` to ask it for a value without computing one."""


def fingerprint(*parts: object) -> str:
    """A digest of values made of dataclasses, tuples, dicts, strings, numbers and paths.

    Pickled without its memo, so equal values give equal digests whatever objects they share.
    A value of a `digested` class stands in by its own digest, made once per object: a
    section's rendering is part of the keys of several pages, and of every build of serve.
    """
    buffer = io.BytesIO()
    pickler = KeyPickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no back-references: the bytes depend on the values alone
    pickler.dump(parts)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


DIGESTED: set[type] = set()  # frozen dataclasses that are large and found in many keys
DIGESTS: dict[int, tuple[weakref.ref, str]] = {}  # id -> (the object, its digest), while it lives


def digested(cls: type) -> type:
    """Class decorator: in keys, an instance counts by a digest of its fields, made once."""
    DIGESTED.add(cls)
    return cls


class KeyPickler(pickle.Pickler):
    """The pickler of keys: `digested` values by their digest."""

    def reducer_override(self, obj: object):  # not asked for strings, numbers and containers
        if type(obj) not in DIGESTED:
            return NotImplemented
        known = DIGESTS.get(id(obj))
        if known is not None and known[0]() is obj:
            return str, (known[1],)
        digest = fingerprint(type(obj).__qualname__, *(getattr(obj, name) for name in
                                                       obj.__dataclass_fields__))
        DIGESTS[id(obj)] = (weakref.ref(obj), digest)
        weakref.finalize(obj, DIGESTS.pop, id(obj), None)  # forgotten with the object
        return str, (digest,)


def file_digest(path: Path) -> str:
    """A digest of a file's bytes, or of its absence."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def engine_digest() -> str:
    """A digest of what every cached value depends on besides its inputs: Kakehashi's code
    (but the other commands': an edit of serve must not empty build's cache) and its libraries."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        if not path.name.startswith(OTHER_COMMANDS):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    folders = set()
    for name in LIBRARIES:
        module = __import__(name)
        folders.add(Path(module.__file__).resolve().parent.parent)
    for folder in sorted(folders):  # site-packages: the *.dist-info names carry the versions
        digest.update("\0".join(sorted(os.listdir(folder))).encode())
    return digest.hexdigest()


@dataclass
class DiskCache:
    """The cache folder of one output folder: what the last build used, one file per kind."""

    folder: Path  # .kakehashi-cache/OUT
    engine: str  # `engine_digest()`: files written by other code are ignored
    read: dict[str, dict[str, object]] = field(default_factory=dict)  # kind -> key -> value
    used: dict[str, dict[str, object]] = field(default_factory=dict)  # what this build used
    stale: set[str] = field(default_factory=set)  # kinds to write again

    @classmethod
    def beside(cls, out_dir: Path) -> DiskCache:
        """The cache of the output folder `out_dir`."""
        out = out_dir.expanduser().resolve()
        return cls(out.parent / CACHE_FOLDER / out.name, engine_digest())

    def get(self, kind: str, key: str) -> object:
        """The value kept under `key`, or MISSING."""
        if kind not in self.read:
            self.read[kind] = self.load(kind)
        value = self.read[kind].get(key, MISSING)
        if value is not MISSING:
            self.used.setdefault(kind, {})[key] = value
        return value

    def put(self, kind: str, key: str, value: object) -> None:
        """Keep a value computed by this build."""
        self.used.setdefault(kind, {})[key] = value
        self.stale.add(kind)

    def load(self, kind: str) -> dict[str, object]:
        """One kind's file, or nothing when it is missing, from other code, or damaged."""
        header = MAGIC + self.engine.encode() + b"\n"
        try:
            with open(self.folder / f"{kind}.pickle", "rb") as file:
                if file.read(len(header)) != header:
                    return {}
                expected = file.read(65)[:64]
                reader = DigestingReader(file)
                values = pickle.load(reader)  # read as it goes: no copy of a 50 MB file
                reader.finish()
        except Exception:  # noqa: BLE001 - missing, cut short or damaged: ignore it
            return {}
        if reader.digest.hexdigest().encode() != expected or not isinstance(values, dict):
            return {}
        return values

    def save(self) -> None:
        """Write every kind whose values changed: exactly what this build used."""
        for kind, values in self.used.items():
            if kind not in self.stale and len(values) == len(self.read.get(kind, {})):
                continue  # every value came from the file, and none of it went unused
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{kind}.")
                with os.fdopen(handle, "w+b") as file:
                    header = MAGIC + self.engine.encode() + b"\n"
                    file.write(header + b"0" * 64 + b"\n")  # the digest, once it is known
                    writer = DigestingWriter(file)
                    pickle.dump(values, writer, pickle.HIGHEST_PROTOCOL)
                    file.seek(len(header))
                    file.write(writer.digest.hexdigest().encode())
                os.replace(temporary, self.folder / f"{kind}.pickle")
            except OSError as exc:
                LOG.warning("Cannot write the build cache in %s (%s); the next build does "
                            "everything again", self.folder, exc.strerror or exc)
                return


@dataclass
class DigestingReader:
    """A file read through pickle, digesting what it reads."""

    file: io.BufferedIOBase
    digest: object = field(default_factory=hashlib.sha256)

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.digest.update(data)
        return data

    def readline(self) -> bytes:
        data = self.file.readline()
        self.digest.update(data)
        return data

    def readinto(self, buffer) -> int:
        count = self.file.readinto(buffer)
        self.digest.update(memoryview(buffer)[:count])
        return count

    def finish(self) -> None:
        """Digest whatever pickle did not need (a file with more after its end is damaged)."""
        while self.read(1 << 16):
            pass


@dataclass
class DigestingWriter:
    """A file written by pickle, digesting what it writes."""

    file: io.BufferedIOBase
    digest: object = field(default_factory=hashlib.sha256)

    def write(self, data) -> int:
        self.digest.update(data)
        return self.file.write(data)


@dataclass(frozen=True)
class Reuse:
    """Where a stage finds values an earlier build computed: serve's memory, then the disk."""

    memory: object | None = None  # serve's `BuildCache` (anything with `memo`), kept between builds
    disk: DiskCache | None = None  # build's cache folder
    made: dict[str, int] = field(default_factory=dict)  # kind -> values computed by this build

    @property
    def active(self) -> bool:
        """Whether anything can be reused (else keys are not worth computing)."""
        return self.memory is not None or self.disk is not None

    def values(self, kind: str, slots: Sequence[Hashable], key: Callable[[Hashable], str],
               compute: Callable[[list], list], kept: Kept | None = None) -> dict:
        """Each slot's value: reused under its key where possible, the rest computed at once.

        With `kept`, what is remembered of a value is `kept.store(value)`, and a value is
        reused only where `kept.restore(slot, stored)` gives it back (else it is computed).
        """
        if not self.active:
            self.made[kind] = self.made.get(kind, 0) + len(slots)
            return dict(zip(slots, compute(list(slots))))
        found, missing, keys = self.lookup(kind, slots, key, kept)
        for slot, value in zip(missing, compute(missing) if missing else []):
            found[slot] = value
            self.keep(kind, slot, keys[slot], value if kept is None else kept.store(value))
        return {slot: found[slot] for slot in slots}

    def lookup(self, kind: str, slots: Sequence[Hashable], key: Callable[[Hashable], str],
               kept: Kept | None = None) -> tuple[dict, list, dict]:
        """`values` in two steps, for a stage that computes its missing values while other
        work goes on: the values found, the slots missing (counted as made) and every
        slot's key, for `keep` once the missing values are there."""
        keys = {slot: key(slot) for slot in slots} if self.active else {}
        found = {}
        for slot, digest in keys.items():
            value = self.recall(kind, slot, digest)
            if value is not MISSING and kept is not None:
                value = kept.restore(slot, value)
            if value is not MISSING:
                found[slot] = value
        missing = [slot for slot in slots if slot not in found]
        self.made[kind] = self.made.get(kind, 0) + len(missing)
        return found, missing, keys

    def recall(self, kind: str, slot: Hashable, digest: str) -> object:
        """The value under `digest` in memory or on disk, or MISSING."""
        if self.memory is not None:
            try:
                return self.memory.memo(kind, digest, raise_missing, keep_one_per=slot)
            except Missing:
                pass
        value = self.disk.get(kind, digest) if self.disk is not None else MISSING
        if value is not MISSING and self.memory is not None:
            self.memory.memo(kind, digest, lambda: value, keep_one_per=slot)
        return value

    def keep(self, kind: str, slot: Hashable, digest: str, value: object) -> None:
        """Remember a computed value in memory and on disk (a failure, None, is not kept)."""
        if value is None:
            return
        if self.memory is not None:
            self.memory.memo(kind, digest, lambda: value, keep_one_per=slot)
        if self.disk is not None:
            self.disk.put(kind, digest, value)


    def save(self) -> None:
        """Write the cache folder's files (after a build that succeeded)."""
        if self.disk is not None:
            self.disk.save()


@dataclass(frozen=True)
class Kept:
    """How a stage keeps its values in another form (see `Reuse.values`)."""

    store: Callable[[object], object]  # value -> what is remembered of it
    restore: Callable[[Hashable, object], object]  # (slot, remembered) -> value, or MISSING


def raise_missing():
    """The `compute` given to `BuildCache.memo` to look a value up without making one."""
    raise Missing
