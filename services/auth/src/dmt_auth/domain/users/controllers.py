"""``/api/v1/users`` (people, managed by Admins) and ``/api/v1/auth/me`` (the caller's own profile)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dmt_auth.db.models import UserAccount
from dmt_auth.domain.users.rules import may_see_email
from dmt_auth.domain.users.schemas import (
    ProfileUpdate,
    SortOrder,
    UserCreate,
    UserPublic,
    UserRead,
    UserSort,
    UserUpdate,
)
from dmt_auth.domain.users.services import UserService
from dmt_shared.contracts import WANT_VERSION_HEADER, ContentVersion, UserLookupRequest, UserLookupResponse
from dmt_shared.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from dmt_shared.problems import ProblemError
from dmt_shared.security import principal_of, require_admin
from dmt_shared.tokens import Role


def user_read(user: UserAccount) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        is_active=user.is_active,
        language=user.language,
        time_zone=user.time_zone,
        created_at=user.created_at,
        updated_at=user.updated_at,
        last_login_at=user.last_login_at,
    )


def user_public(user: UserAccount) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        is_active=user.is_active,
        language=user.language,
        time_zone=user.time_zone,
        created_at=user.created_at,
    )


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["Users"]

    @get(
        "/",
        summary="List users",
        description="Ordered by username unless `sort` says otherwise. Only an Admin sees email addresses.",
    )
    async def list_users(
        self,
        request: Request[Any, Any, Any],
        users: UserService,
        q: Annotated[
            str | None, Parameter(max_length=100, description="Part of the username or full name, any case")
        ] = None,
        role: Role | None = None,
        is_active: bool | None = None,
        sort: UserSort = "username",
        order: SortOrder = "asc",
        page: Annotated[int, Parameter(ge=1)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> Page[UserRead] | Page[UserPublic]:
        rows, total = await users.list_users(
            q=q, role=role, is_active=is_active, sort=sort, order=order, page=page, page_size=page_size
        )
        if principal_of(request).role == Role.ADMIN:
            return Page(items=[user_read(u) for u in rows], total=total, page=page, page_size=page_size)
        return Page(items=[user_public(u) for u in rows], total=total, page=page, page_size=page_size)

    @post("/", guards=[require_admin], status_code=HTTP_201_CREATED, summary="Create a user (Admin)")
    async def create_user(self, request: Request[Any, Any, Any], data: UserCreate, users: UserService) -> UserRead:
        await users.ensure_acting_admin(principal_of(request))
        return user_read(await users.create_user(data))

    @post(
        "/lookup",
        status_code=HTTP_200_OK,
        summary="Look up many users by id in one call",
        description=(
            "Ids that do not exist are listed in `missing`. "
            "With the header `X-DMT-Want-Version`, the answer's ETag is the users' content version "
            "(see `/api/v1/users/version`)."
        ),
    )
    async def lookup(
        self, request: Request[Any, Any, Any], data: UserLookupRequest, users: UserService
    ) -> Response[UserLookupResponse]:
        # The version is read first: should a user change meanwhile, the answer is newer than
        # its ETag says, so a copy of it is dropped at the next version check, never kept stale.
        version = await users.version() if WANT_VERSION_HEADER in request.headers else None
        items, missing = await users.lookup(data.ids)
        headers = {"ETag": version.etag} if version else {}
        return Response(UserLookupResponse(items=items, missing=missing), headers=headers)

    @get(
        "/version",
        summary="The users' content version",
        description=(
            "Changes whenever a user is added or removed, or changes username, full name, role or active flag. "
            "Sent as the ETag too; answers 304 to an If-None-Match naming the current version."
        ),
        responses={304: ResponseSpec(None, description="The version named in If-None-Match is the current one")},
    )
    async def version(self, request: Request[Any, Any, Any], users: UserService) -> Response[ContentVersion | None]:
        body, status, headers = (await users.version()).answer(request.headers.get("if-none-match"))
        return Response(body, status_code=status, headers=headers)

    @get("/{user_id:int}", summary="One user; the email only for an Admin or the user themselves")
    async def get_user(
        self, request: Request[Any, Any, Any], user_id: int, users: UserService
    ) -> UserRead | UserPublic:
        user = await users.get_user(user_id)
        principal = principal_of(request)
        if may_see_email(principal.role, principal.id, user.id):
            return user_read(user)
        return user_public(user)

    @patch(
        "/{user_id:int}",
        guards=[require_admin],
        summary="Change a user (Admin)",
        description=(
            "Absent fields are kept; `email: null` clears the email. A new `password` is a reset and, like "
            "deactivation, ends every session of the user. The last active Admin cannot be deactivated or demoted. "
            "Users are never deleted: deactivate them."
        ),
    )
    async def update_user(
        self, request: Request[Any, Any, Any], user_id: int, data: UserUpdate, users: UserService
    ) -> UserRead:
        await users.ensure_acting_admin(principal_of(request))
        return user_read(await users.update_user(user_id, data))


class ProfileController(Controller):
    path = "/api/v1/auth/me"
    tags = ["Sign in"]

    @get("/", summary="The signed-in user's profile")
    async def me(self, request: Request[Any, Any, Any], users: UserService) -> UserRead:
        principal = principal_of(request)
        user = await users.get_one_or_none(UserAccount.id == principal.id)
        if user is None or not user.is_active:
            raise ProblemError(401, "this account no longer exists or is deactivated")
        return user_read(user)

    @patch(
        "/",
        summary="Change your own profile",
        description=(
            "A new `password` needs the right `current_password`; it revokes every refresh token you hold, "
            "so other devices (and this one, when its access token expires) sign in again."
        ),
    )
    async def update_me(self, request: Request[Any, Any, Any], data: ProfileUpdate, users: UserService) -> UserRead:
        return user_read(await users.update_profile(principal_of(request), data))
