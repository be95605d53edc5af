"""User accounts: creation, changes by an Admin or by the user, listing and batch look-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from advanced_alchemy.exceptions import IntegrityError as RepositoryIntegrityError
from advanced_alchemy.filters import LimitOffset, OrderBy, SearchFilter, StatementFilter
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from msgspec import UNSET
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.db.models import RefreshToken, UserAccount
from dmt_auth.domain.users import rules
from dmt_auth.domain.users.schemas import ProfileUpdate, UserCreate, UserUpdate
from dmt_auth.passwords import Passwords
from dmt_auth.ratelimit import LoginThrottle
from dmt_shared.contracts import ContentVersion, UserSummary
from dmt_shared.pagination import offset
from dmt_shared.problems import FieldError, ProblemError, conflict, not_found, unprocessable
from dmt_shared.tokens import Principal, Role

#: What a look-up answers of a user, in :class:`UserSummary`; the content version covers exactly these.
_SUMMARY_COLUMNS = (
    UserAccount.id,
    UserAccount.username,
    UserAccount.full_name,
    UserAccount.role,
    UserAccount.is_active,
)


class UserRepository(SQLAlchemyAsyncRepository[UserAccount]):
    model_type = UserAccount


class UserService(SQLAlchemyAsyncRepositoryService[UserAccount, UserRepository]):
    repository_type = UserRepository

    def __init__(
        self,
        session: AsyncSession,
        *,
        passwords: Passwords,
        throttle: LoginThrottle | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(session=session, **kwargs)
        self.session = session
        self.passwords = passwords
        self.throttle = throttle

    # ------------------------------------------------------------------ normalisation hooks

    async def to_model_on_create(self, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            data["username"] = rules.normalize_username(data["username"])
            data["full_name"] = rules.normalize_full_name(data["full_name"])
            data["email"] = rules.normalize_email(data.get("email"))
            if "password" in data:
                data["password_hash"] = await self.passwords.hash(data.pop("password"))
        return data

    # ------------------------------------------------------------------ reads

    async def get_user(self, user_id: int) -> UserAccount:
        user = await self.get_one_or_none(UserAccount.id == user_id)
        if user is None:
            raise not_found("user", user_id)
        return user

    async def list_users(
        self,
        *,
        q: str | None,
        role: Role | None,
        is_active: bool | None,
        sort: str,
        order: str,
        page: int,
        page_size: int,
    ) -> tuple[Sequence[UserAccount], int]:
        filters: list[StatementFilter | Any] = []
        if q and q.strip():
            filters.append(
                SearchFilter(
                    field_name={"username", "full_name"}, value=q.strip(), ignore_case=True, escape_wildcards=True
                )
            )
        if role is not None:
            filters.append(UserAccount.role == role.value)
        if is_active is not None:
            filters.append(UserAccount.is_active.is_(is_active))
        direction = "desc" if order == "desc" else "asc"
        filters.append(OrderBy(field_name=sort, sort_order=direction))  # type: ignore[arg-type]
        if sort != "username":
            filters.append(OrderBy(field_name="username", sort_order="asc"))
        filters.append(LimitOffset(limit=page_size, offset=offset(page, page_size)))
        return await self.get_many_and_count(*filters, count_with_window_function=False)

    async def lookup(self, ids: Sequence[int]) -> tuple[list[UserSummary], list[int]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return [], []
        rows = (
            await self.session.execute(select(UserAccount).where(UserAccount.id.in_(wanted)).order_by(UserAccount.id))
        ).scalars()
        items = [
            UserSummary(id=u.id, username=u.username, full_name=u.full_name, role=u.role, is_active=u.is_active)
            for u in rows
        ]
        found = {item.id for item in items}
        return items, [i for i in wanted if i not in found]

    async def version(self) -> ContentVersion:
        """The users' content version: a digest of what look-ups answer of every user.

        Read from the table on each call, so every replica gives the same version and any
        change shows, whoever made it. Not derived from ``updated_at``: a sign-in moves that
        (and MariaDB keeps it to the second), while only the looked-up fields matter here.
        """
        rows = await self.session.execute(select(*_SUMMARY_COLUMNS).order_by(UserAccount.id))
        return ContentVersion.of_rows(rows)

    # ------------------------------------------------------------------ writes

    async def ensure_acting_admin(self, principal: Principal) -> None:
        """The token says Admin; make sure the account still is one and is active."""
        user = await self.get_one_or_none(UserAccount.id == principal.id)
        if user is None or not rules.is_active_admin(user.role, user.is_active):
            raise ProblemError(403, "your account may no longer manage users")

    async def create_user(self, data: UserCreate) -> UserAccount:
        username = rules.normalize_username(data.username)
        email = rules.normalize_email(data.email)
        errors = []
        if not rules.username_is_valid(username):
            errors.append(FieldError("username", "3 to 32 of A-Z, 0-9, '.', '_' and '-'"))
        if not rules.time_zone_is_valid(data.time_zone):
            errors.append(FieldError("time_zone", f"unknown time zone {data.time_zone!r}"))
        if errors:
            raise unprocessable(errors)
        await self._refuse_duplicates(username=username, email=email)
        values = {
            "username": username,
            "full_name": data.full_name,
            "role": data.role.value,
            "password": data.password,
            "email": email,
            "language": data.language,
            "time_zone": data.time_zone,
            "is_active": data.is_active,
        }
        try:
            user = await self.create(values, auto_commit=False)
            await self.session.commit()
        except (IntegrityError, RepositoryIntegrityError):
            await self.session.rollback()
            await self._refuse_duplicates(username=username, email=email)
            raise conflict("this user already exists", field="username") from None
        return user

    async def update_user(self, user_id: int, data: UserUpdate) -> UserAccount:
        """An Admin's change. Deactivation or a password reset ends every session of the user."""
        # Hash first: no row stays locked while the password is being hashed.
        new_hash = await self.passwords.hash(data.password) if data.password is not UNSET else None
        could_remove_admin = (data.role is not UNSET and data.role != Role.ADMIN) or data.is_active is False
        if could_remove_admin:
            await self._lock_active_admins()
        user = await self._get_for_update(user_id)
        changes = self._checked_changes(data.full_name, data.email, data.language, data.time_zone)
        new_role = data.role.value if data.role is not UNSET else user.role
        new_active = data.is_active if data.is_active is not UNSET else user.is_active
        keep_an_admin = None
        if rules.removes_an_active_admin(
            role=user.role, is_active=user.is_active, new_role=new_role, new_active=new_active
        ):
            keep_an_admin = "role" if new_role != user.role else "is_active"
        if "email" in changes:
            await self._refuse_duplicates(email=changes["email"], exclude_id=user.id)
        changes["role"] = new_role
        changes["is_active"] = new_active
        end_sessions = (user.is_active and not new_active) or new_hash is not None
        if new_hash is not None:
            changes["password_hash"] = new_hash
        return await self._apply(user, changes, end_sessions=end_sessions, keep_an_admin=keep_an_admin)

    async def update_profile(self, principal: Principal, data: ProfileUpdate) -> UserAccount:
        """The signed-in user's change to themselves. A new password needs the current one."""
        # No row lock: checking and hashing passwords takes a while, and only the user edits this.
        user = await self.get_one_or_none(UserAccount.id == principal.id)
        if user is None or not user.is_active:
            raise ProblemError(401, "this account no longer exists or is deactivated")
        changes = self._checked_changes(data.full_name, data.email, data.language, data.time_zone)
        if data.password is not UNSET:
            await self._check_current_password(user, data.current_password)
            changes["password_hash"] = await self.passwords.hash(data.password)
        elif data.current_password is not UNSET:
            raise unprocessable([FieldError("current_password", "only needed to change the password")])
        if "email" in changes:
            await self._refuse_duplicates(email=changes["email"], exclude_id=user.id)
        return await self._apply(user, changes, end_sessions=data.password is not UNSET)

    async def revoke_refresh_tokens(self, user_id: int) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
            .execution_options(synchronize_session=False)
        )

    # ------------------------------------------------------------------ internals

    async def _get_for_update(self, user_id: int) -> UserAccount:
        stmt = (
            select(UserAccount)
            .where(UserAccount.id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        user = (await self.session.execute(stmt)).scalar_one_or_none()
        if user is None:
            raise not_found("user", user_id)
        return user

    def _checked_changes(self, full_name: Any, email: Any, language: Any, time_zone: Any) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if full_name is not UNSET:
            changes["full_name"] = rules.normalize_full_name(full_name)
        if email is not UNSET:
            changes["email"] = rules.normalize_email(email)
        if language is not UNSET:
            changes["language"] = language
        if time_zone is not UNSET:
            if not rules.time_zone_is_valid(time_zone):
                raise unprocessable([FieldError("time_zone", f"unknown time zone {time_zone!r}")])
            changes["time_zone"] = time_zone
        return changes

    async def _check_current_password(self, user: UserAccount, current: Any) -> None:
        if current is UNSET or not current:
            raise unprocessable([FieldError("current_password", "give your current password to change it")])
        if self.throttle is not None and (wait := self.throttle.users.retry_after(user.username)):
            raise ProblemError(
                429, f"too many wrong passwords; try again in {wait} seconds", headers={"Retry-After": str(wait)}
            )
        if not await self.passwords.verify(user.password_hash, current):
            if self.throttle is not None:
                self.throttle.users.hit(user.username)
            raise unprocessable([FieldError("current_password", "the current password is wrong")])

    async def _apply(
        self, user: UserAccount, changes: dict[str, Any], *, end_sessions: bool, keep_an_admin: str | None = None
    ) -> UserAccount:
        """Write ``changes``; with ``keep_an_admin`` (the field that takes an Admin away), refuse
        if no active Admin would be left, checked inside the writing transaction."""
        for name, value in changes.items():
            setattr(user, name, value)
        try:
            await self.session.flush()
            if keep_an_admin is not None and not await self._an_active_admin_remains():
                await self.session.rollback()
                raise conflict("this is the last active Admin: make another user Admin first", field=keep_an_admin)
            if end_sessions:
                await self.revoke_refresh_tokens(user.id)
            await self.session.commit()
        except IntegrityError:
            await self.session.rollback()
            raise conflict("another user already has this email", field="email") from None
        await self.session.refresh(user)
        return user

    async def _lock_active_admins(self) -> None:
        """Lock the active Admins, always in id order, so concurrent demotions queue up."""
        await self.session.execute(
            select(UserAccount.id)
            .where(UserAccount.role == Role.ADMIN.value, UserAccount.is_active.is_(True))
            .order_by(UserAccount.id)
            .with_for_update()
        )

    async def _an_active_admin_remains(self) -> bool:
        remaining = await self.session.execute(
            select(UserAccount.id)
            .where(UserAccount.role == Role.ADMIN.value, UserAccount.is_active.is_(True))
            .order_by(UserAccount.id)
            .with_for_update()
        )
        return remaining.first() is not None

    async def _refuse_duplicates(
        self, *, username: str | None = None, email: str | None = None, exclude_id: int | None = None
    ) -> None:
        checks = [("username", UserAccount.username, username), ("email", UserAccount.email, email)]
        for field, column, value in checks:
            if value is None:
                continue
            stmt = select(UserAccount.id).where(column == value)
            if exclude_id is not None:
                stmt = stmt.where(UserAccount.id != exclude_id)
            if (await self.session.execute(stmt.limit(1))).first() is not None:
                raise conflict(f"another user already has this {field}", field=field)
