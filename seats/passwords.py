"""Agent password hashing (argon2id through argon2-cffi)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
# Verified against when the agent does not exist, so a wrong agent id costs the same time as
# a wrong password and does not reveal which ids exist.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash (with its own salt and parameters) of `password`."""
    if not password:
        raise ValueError("password must not be empty")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash`; False for a mismatch or a missing hash."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters than the current ones."""
    return _HASHER.check_needs_rehash(password_hash)


def _lower_priority(nice: int) -> None:
    # Linux keeps a nice value per thread, and argon2's own lane threads inherit it: the
    # event loop (pops) wins the CPU over a flood of password checks.
    with contextlib.suppress(OSError):  # elsewhere: still bounded, just not deprioritised
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class PasswordChecks:
    """argon2 checks on a few low-priority threads of their own, never on the event loop.

    Each check takes about 64 MiB and a CPU for a few hundred milliseconds; on the default
    executor a login flood ran six at once at normal priority and pushed pop p99 from 4 to
    470 ms. Here at most `threads` run at once, at `nice` priority; the others wait in turn.
    """

    def __init__(self, threads: int = 1, nice: int = 10) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="argon2",
            initializer=_lower_priority,
            initargs=(nice,),
        )

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """`verify_password`, run on these threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, verify_password, password_hash, password)

    async def hash(self, password: str) -> str:
        """`hash_password`, run on these threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, hash_password, password)


# The process's password checks: every account store verifies through it, so the bound holds
# for the agent login and the supervisor login together.
CHECKS = PasswordChecks()
