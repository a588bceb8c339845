"""The outbox: rows written in the turn's transaction, then sent by the worker when due.

- `rows.py`: the one writer of `outbox_message` rows (`Note`, `write`, `insert_new`, `stage`,
  `withdraw`);
- `notify/`: the notices about appointments, the specialists' agenda and training events;
- `scheduler.py`: the morning agendas, queued every tick;
- `worker.py` with `claim.py` and `record.py`: claiming due rows, sending, recording results;
- `pacing.py`: the platforms' rate limits and the flood guard of inbound chats.
"""

from bot.outbox.rows import UNSENT, Note, insert_new, reply_notes, stage, withdraw, write

__all__ = ["UNSENT", "Note", "insert_new", "reply_notes", "stage", "withdraw", "write"]
