"""One inbound message's way through the bot, in one transaction.

`engine.Engine` opens the unit of work and offers the message to an ordered chain of
handlers (`handlers.py`): the specialists' desk (`desk.py`), answers to what the bot sent on
its own (`followups.py`), the relay between a citizen and a specialist (`relay.py`), and the
flow runner (`flow_runner.py`, with `navigation.py` and `listening.py`). The first handler
that answers wins; every reply is queued in the outbox in the same transaction.
"""
