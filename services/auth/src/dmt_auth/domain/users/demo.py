"""The demo users of the plant, loaded into an empty database outside production."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.db.models import UserAccount
from dmt_auth.passwords import Passwords
from dmt_shared.tokens import Role

log = logging.getLogger("dmt.auth.demo")

# username, full name, role, password, language, time zone
DEMO_USERS: tuple[tuple[str, str, Role, str, str, str], ...] = (
    ("ADM001", "María Fernanda López", Role.ADMIN, "admin123", "es", "America/Mexico_City"),
    ("ENG001", "Zhang Wei", Role.TECH_ENGINEER, "engineer123", "zh", "Asia/Shanghai"),
    ("QUA001", "Alejandro Ramírez Torres", Role.QUALITY_ENGINEER, "quality123", "en", "America/Mexico_City"),
    ("INS001", "Guadalupe Hernández Ruiz", Role.INSPECTOR, "employee123", "es", "America/Mexico_City"),
    ("INS002", "Wang Fang", Role.INSPECTOR, "employee123", "zh", "Asia/Shanghai"),
    ("INS003", "José Luis Martínez", Role.INSPECTOR, "employee123", "en", "America/Mexico_City"),
    ("INS004", "Li Na", Role.INSPECTOR, "employee123", "en", "Asia/Shanghai"),
    ("INS005", "Ana Sofía García Reyes", Role.INSPECTOR, "employee123", "en", "America/Mexico_City"),
    ("INS006", "Chen Jing", Role.INSPECTOR, "employee123", "en", "Asia/Shanghai"),
    ("INS007", "Luis Ángel Sánchez", Role.INSPECTOR, "employee123", "es", "America/Mexico_City"),
    ("INS008", "Liu Yang", Role.INSPECTOR, "employee123", "en", "Asia/Shanghai"),
    ("INS009", "Verónica Castillo Morales", Role.INSPECTOR, "employee123", "en", "America/Mexico_City"),
    ("INS010", "Zhao Lei", Role.INSPECTOR, "employee123", "en", "Asia/Shanghai"),
    ("INS011", "Ricardo Flores Jiménez", Role.INSPECTOR, "employee123", "en", "America/Mexico_City"),
    ("OPR001", "Juan Carlos Pérez", Role.OPERATOR, "employee123", "es", "America/Mexico_City"),
    ("OPR002", "Huang Min", Role.OPERATOR, "employee123", "zh", "Asia/Shanghai"),
    ("OPR003", "Miguel Ángel Gómez", Role.OPERATOR, "employee123", "en", "America/Mexico_City"),
    ("OPR004", "Zhou Qiang", Role.OPERATOR, "employee123", "en", "Asia/Shanghai"),
    ("OPR005", "Daniela Vázquez Ortiz", Role.OPERATOR, "employee123", "en", "America/Mexico_City"),
    ("OPR006", "Wu Xiaoling", Role.OPERATOR, "employee123", "en", "Asia/Shanghai"),
    ("OPR007", "Francisco Javier Cruz", Role.OPERATOR, "employee123", "en", "America/Mexico_City"),
    ("OPR008", "Sun Hao", Role.OPERATOR, "employee123", "en", "Asia/Shanghai"),
    ("OPR009", "Carmen Alicia Mendoza", Role.OPERATOR, "employee123", "en", "America/Mexico_City"),
    ("OPR010", "Xu Jie", Role.OPERATOR, "employee123", "en", "Asia/Shanghai"),
    ("OPR011", "Jorge Eduardo Aguilar", Role.OPERATOR, "employee123", "en", "America/Mexico_City"),
    ("OPR012", "Ma Lin", Role.OPERATOR, "employee123", "en", "Asia/Shanghai"),
)


async def load_demo_users(session: AsyncSession, passwords: Passwords) -> int:
    """Add the demo users when there are no users at all; return how many were added."""
    if (await session.execute(select(func.count()).select_from(UserAccount))).scalar_one():
        return 0
    # Hashing is the slow part: once per distinct password, shared by the users that have it.
    distinct = sorted({row[3] for row in DEMO_USERS})
    hashes = dict(zip(distinct, await asyncio.gather(*(passwords.hash(p) for p in distinct)), strict=True))
    for username, full_name, role, password, language, time_zone in DEMO_USERS:
        session.add(
            UserAccount(
                username=username,
                full_name=full_name,
                email=f"{username.lower()}@dmt.example",
                role=role.value,
                password_hash=hashes[password],
                language=language,
                time_zone=time_zone,
                is_active=True,
            )
        )
    try:
        await session.commit()
    except IntegrityError:
        # Another process filled the empty table at the same moment.
        await session.rollback()
        return 0
    log.info("loaded %d demo users", len(DEMO_USERS))
    return len(DEMO_USERS)
