"""The auth service's tables: user accounts and the refresh tokens issued to them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.mixins import AuditColumns, IdentityPrimaryKey
from advanced_alchemy.types import BigIntIdentity, DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dmt_shared.db import declarative_base

Base: Any = declarative_base()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UserAccount(IdentityPrimaryKey, AuditColumns, Base):
    """A person who signs in. Never deleted (records point to users): deactivated instead."""

    __tablename__ = "user_account"
    __table_args__ = (
        UniqueConstraint("username", name="uq_user_account_username"),
        UniqueConstraint("email", name="uq_user_account_email"),
    )

    #: Employee number, upper case (ADM001, INS003).
    username: Mapped[str] = mapped_column(String(32))
    #: Lower case; optional.
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    full_name: Mapped[str] = mapped_column(String(120))
    #: One of :class:`dmt_shared.tokens.Role`.
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(2), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class RefreshToken(IdentityPrimaryKey, Base):
    """One refresh token, known only by its SHA-256; each rotation adds one to the same family."""

    __tablename__ = "refresh_token"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_refresh_token_token_hash"),
        Index("ix_refresh_token_family_id", "family_id"),
        Index("ix_refresh_token_user_id", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(
        BigIntIdentity,
        ForeignKey("user_account.id", name="fk_refresh_token_user_id"),
    )
    #: SHA-256 (hex) of the opaque token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64))
    #: Shared by every token descending from one login.
    family_id: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
