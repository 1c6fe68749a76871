"""
The Lua scripts of the Redis backend, read from the package's ``lua/`` folder.

Each script touches the keys of ONE feed (or one activity body and its
foreign-id index), which share a hash tag and so one cluster slot; a script
runs atomically, so every write to a feed is all or nothing and readers
never see half of it. ``KEYS[1]`` is the key the cluster routes by; the
other keys of the same feed are derived from the feed's key base (an
``ARGV``, e.g. ``"sd:{user:1}:"``), which hashes to the same slot. The two
exceptions, ``FANOUT`` and ``UNFAN``, run on one server only, where every
key is in reach.

Flat feed entries are members of a sorted set whose scores are all 0, so the
set is ordered by member bytes: a member is the activity's 31-character
storage key followed by the origin feed (empty for a direct entry). The
entries of one key are the members in ``[key, key .. "\\255")``: origins are
UTF-8, which never contains byte 255.

Scripts never read activity bodies: those live in other slots.

Files: script ``NAME`` is ``lua/<name>.lua`` (``FLAT_ADD`` is
``lua/flat_add.lua``), and the functions scripts share are ``lua/lib/*.lua``.
A file's leading comments document its ``KEYS``, ``ARGV`` and reply, and a
``-- requires: a, b`` line names the library files it uses. A script's source
is those libraries (each preceded by the ones it requires, each once),
followed by the script's own file.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources

#: Every script, by the name the backend calls it by (``"script:NAME"``).
NAMES = (
    # flat feeds
    "FLAT_ADD",
    "FLAT_REMOVE",
    "FLAT_PURGE",
    "FLAT_FIND",
    "FLAT_CUT",
    # aggregated and notification feeds
    "GROUP_ADD",
    "GROUP_REMOVE",
    "GROUP_PURGE",
    "GROUP_FIND",
    "GROUP_READ",
    "GROUP_CUT",
    # follows and the holder sets
    "FOLLOW_ADD",
    "FOLLOW_REMOVE",
    "HOLDER_MARKS",
    "HOLDERS",
    # activity bodies
    "BODY_PUT",
    "BODY_REF",
    "BODY_RELEASE",
    "BODY_REPLACE",
    # fan-out and its removal, a batch of holders per call (one server)
    "FANOUT",
    "UNFAN",
)

_REQUIRES = re.compile(r"^-- requires:(.*)$", re.MULTILINE)


def _read(*path: str) -> str:
    file = resources.files("stream_django.backends.redis") / "lua"
    for part in path:
        file = file / part
    return file.read_text(encoding="utf-8")


def _compose(text: str, included: set[str]) -> list[str]:
    """Return the library sources ``text`` requires that ``included`` does
    not hold yet, each preceded by its own requirements, then ``text``;
    add the libraries to ``included``."""
    parts: list[str] = []
    for line in _REQUIRES.findall(text):
        for name in (n.strip() for n in line.split(",")):
            if name and name not in included:
                included.add(name)
                parts += _compose(_read("lib", f"{name}.lua"), included)
    return [*parts, text]


def load(name: str) -> str:
    """Return the source of script ``name``, its libraries included."""
    return "\n".join(_compose(_read(f"{name.lower()}.lua"), set()))


#: The source of each script.
SCRIPTS: dict[str, str] = {name: load(name) for name in NAMES}
#: SHA1 of each script, as EVALSHA names it (computed here: no SCRIPT LOAD
#: round trip until a server answers NOSCRIPT).
SHAS: dict[str, str] = {name: hashlib.sha1(source.encode("utf-8")).hexdigest() for name, source in SCRIPTS.items()}
