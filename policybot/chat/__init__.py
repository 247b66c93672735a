"""Interactive subscriptions: Telegram commands and the Slack slash command (Socket Mode).

`start_chats(app)` starts whichever of them config.yaml enables, on the running event loop;
`stop_chats` stops them. Both are called by scheduler.Service.run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from policybot.app import App


class Chat(Protocol):
    async def stop(self) -> None: ...


async def start_chats(app: App) -> list[Chat]:
    return []


async def stop_chats(chats: list[Chat]) -> None:
    for chat in chats:
        await chat.stop()
