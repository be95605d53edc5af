"""Users of the predecessor DMT, brought into this service's table.

The predecessor kept its users in one table, ``user``: ``id``, ``username``, ``email``,
``full_name``, ``role``, ``hashed_password`` (passlib ``pbkdf2_sha256``) and, in later versions,
``is_active`` and ``created_at``. :func:`import_users` takes those rows as plain mappings
(missing keys are fine where a value is optional) and writes them with this service's rules:

- usernames are matched as stored here (trimmed, upper case): a user who already exists is left
  exactly as it is, so a second import changes nothing; two rows with one username are one user;
- the role may be written any way the predecessor wrote it (``Admin``, ``admin``,
  ``tech_engineer``, ``Tech Engineer``, ``QUALITY-ENGINEER``); an unknown role refuses the row;
- the password hash is kept as it is: the predecessor's PBKDF2 hashes are accepted at sign-in
  and replaced with argon2id on the first successful one (see :mod:`dmt_auth.passwords`);
- an email that another user already has is left out (noted), rather than refusing the user.

Every row ends up imported, already present or refused with its reason, and the report maps
each legacy id to the user id here (what records need to keep their authors).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.db.models import UserAccount
from dmt_auth.domain.users import rules
from dmt_auth.passwords import is_legacy_hash
from dmt_shared.importing import ImportTally, Note, Refusal, legacy_int, legacy_utc, retry_on_conflict
from dmt_shared.tokens import Role

#: The role names of the predecessor, with letter case, spaces, ``_`` and ``-`` ignored.
_ROLE_KEYS: dict[str, Role] = {re.sub(r"[^a-z]", "", role.value.lower()): role for role in Role}
#: What a stored hash that can never match looks like (a user without a usable password).
NO_PASSWORD = "!"
PASSWORD_HASH_MAX = 255
EMAIL_MAX = 254
FULL_NAME_MAX = 120
#: How many usernames or emails one query looks for.
_CHUNK = 500


@dataclass
class UserImport(ImportTally):
    """What an import did. Pass it to the next call to add a further batch to it: it also
    remembers which legacy user each username came from, to name rows merged into one user."""

    #: legacy user id -> user id here (imported or already present)
    ids: dict[int, int] = field(default_factory=dict)
    #: username -> the first legacy user with it in this run
    usernames: dict[str, int] = field(default_factory=dict)


def legacy_role(raw: Any) -> Role | None:
    """The role a predecessor's role string means, or ``None`` when it names no role."""
    if not isinstance(raw, str):
        return None
    return _ROLE_KEYS.get(re.sub(r"[^a-z]", "", raw.lower()))


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@dataclass
class _Candidate:
    legacy_id: int
    username: str
    values: dict[str, Any]
    notes: list[str]


def _candidate(row: Mapping[str, Any]) -> _Candidate | Refusal:
    """The row as this service would store it, or why it cannot be."""
    legacy_id = legacy_int(row.get("id"))
    raw_username = _text(row.get("username"))
    key = raw_username or f"user {row.get('id')!r}"
    if legacy_id is None:
        return Refusal(row.get("id"), key, "the row has no usable id")
    username = rules.normalize_username(raw_username)
    if not rules.username_is_valid(username):
        return Refusal(legacy_id, key, f"username {raw_username!r} is not 3 to 32 of A-Z, 0-9, '.', '_' and '-'")
    role = legacy_role(row.get("role"))
    if role is None:
        known = ", ".join(r.value for r in Role)
        return Refusal(legacy_id, username, f"unknown role {row.get('role')!r}; the roles are {known}")
    notes: list[str] = []
    full_name = rules.normalize_full_name(_text(row.get("full_name")))
    if not full_name:
        full_name = username
        notes.append("had no full name: the username stands in for it")
    if len(full_name) > FULL_NAME_MAX:
        return Refusal(legacy_id, username, f"the full name is longer than {FULL_NAME_MAX} characters")
    email = rules.normalize_email(_text(row.get("email")) or None)
    if email is not None and len(email) > EMAIL_MAX:
        notes.append(f"email longer than {EMAIL_MAX} characters left out")
        email = None
    password_hash = _text(row.get("hashed_password"))
    if not password_hash or len(password_hash) > PASSWORD_HASH_MAX:
        password_hash = NO_PASSWORD
        notes.append("has no usable password hash: an Admin must give a new password")
    elif not (is_legacy_hash(password_hash) or password_hash.startswith("$argon2")):
        notes.append("the password hash is of a kind not accepted here: an Admin must give a new password")
    is_active = row.get("is_active")
    values: dict[str, Any] = {
        "username": username,
        "full_name": full_name,
        "email": email,
        "role": role.value,
        "password_hash": password_hash,
        "is_active": True if is_active is None else bool(is_active),
        "language": "en",
        "time_zone": "UTC",
    }
    created_at = legacy_utc(row.get("created_at"))
    if created_at is not None:
        values["created_at"] = created_at
        values["updated_at"] = created_at
    return _Candidate(legacy_id, username, values, notes)


async def _existing(session: AsyncSession, column: Any, values: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start : start + _CHUNK])
        rows = await session.execute(select(column, UserAccount.id).where(column.in_(chunk)))
        found.update({value: user_id for value, user_id in rows if value is not None})
    return found


async def _import_once(session: AsyncSession, rows: Sequence[Mapping[str, Any]], seen: Mapping[str, int]) -> UserImport:
    """One attempt: plan against what is stored now, write, commit. Returns what this batch did."""
    done = UserImport()
    candidates: list[_Candidate] = []
    for row in rows:
        outcome = _candidate(row)
        if isinstance(outcome, Refusal):
            done.refused.append(outcome)
        else:
            candidates.append(outcome)
    usernames = await _existing(session, UserAccount.username, sorted({c.username for c in candidates}))
    emails = await _existing(
        session, UserAccount.email, sorted({c.values["email"] for c in candidates if c.values["email"]})
    )
    taken_emails = set(emails)
    new: dict[str, tuple[_Candidate, UserAccount]] = {}
    #: (legacy id of a merged row, username of the new user it was merged into)
    merged: list[tuple[int, str]] = []
    for candidate in candidates:
        earlier = seen.get(candidate.username, done.usernames.get(candidate.username))
        if earlier is not None:
            done.present += 1
            text = f"the same username as legacy user {earlier}: merged into that user"
            done.notes.append(Note(candidate.legacy_id, candidate.username, text))
            if candidate.username in usernames:
                done.ids[candidate.legacy_id] = usernames[candidate.username]
            else:
                merged.append((candidate.legacy_id, candidate.username))
            continue
        done.usernames[candidate.username] = candidate.legacy_id
        if candidate.username in usernames:
            done.present += 1
            done.ids[candidate.legacy_id] = usernames[candidate.username]
            continue
        email = candidate.values["email"]
        if email is not None and email in taken_emails:
            candidate.values["email"] = None
            candidate.notes.append(f"email {email} belongs to another user: left out")
        elif email is not None:
            taken_emails.add(email)
        new[candidate.username] = (candidate, UserAccount(**candidate.values))
        done.notes.extend(Note(candidate.legacy_id, candidate.username, n) for n in candidate.notes)
    session.add_all([user for _, user in new.values()])
    await session.flush()
    for candidate, user in new.values():
        done.imported += 1
        done.ids[candidate.legacy_id] = user.id
    for legacy_id, username in merged:
        done.ids[legacy_id] = done.ids[new[username][0].legacy_id]
    await session.commit()
    session.expunge_all()
    return done


async def import_users(
    session: AsyncSession, rows: Iterable[Mapping[str, Any]], *, report: UserImport | None = None
) -> UserImport:
    """Import the predecessor's user rows; ``report`` (from an earlier batch) is added to and returned.

    Users that exist here (by username) are left as they are. The batch is written in one
    transaction; should another process add one of its users meanwhile, it is planned again.
    ``session`` serves the import alone: it is committed and cleared after the batch.
    """
    report = report if report is not None else UserImport()
    batch = list(rows)
    done = await retry_on_conflict(session, lambda: _import_once(session, batch, report.usernames))
    report.add(done)
    report.ids.update(done.ids)
    report.usernames.update(done.usernames)
    return report
