"""`psv telegram set-webhook` registers the webhook with the secret, against a fake Bot API."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegram

PSV = str(Path(sys.executable).with_name("psv"))


async def test_set_webhook(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSV_")}
        env.update(
            PSV_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'psv.db'}",
            PSV_PUBLIC_URL="https://psv.example.gob.pe",
            PSV_TELEGRAM_TOKEN="123456:cli-token",
            PSV_TELEGRAM_SECRET="s3cret",
            PSV_TELEGRAM_API_URL=fake.url,
        )
        process = await asyncio.create_subprocess_exec(
            PSV,
            "telegram",
            "set-webhook",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert "https://psv.example.gob.pe/webhooks/telegram" in out.decode()
        calls = [params for method, params in fake.calls if method == "setWebhook"]
        assert len(calls) == 1
        assert calls[0]["url"] == "https://psv.example.gob.pe/webhooks/telegram"
        assert calls[0]["secret_token"] == "s3cret"
