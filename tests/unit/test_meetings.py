"""Session links: unguessable rooms for video services, instructions for the others."""

from __future__ import annotations

import math
import re

from core import meetings
from core.meetings import JitsiProvider
from core.models import Modality

ROOM = re.compile(r"^https://meet\.example\.org/psv-([A-Za-z0-9_-]+)$")


def test_a_jitsi_link_is_under_the_base_url_with_a_psv_room() -> None:
    link = JitsiProvider("https://meet.example.org/").new_link()
    assert ROOM.match(link), link


def test_rooms_carry_at_least_128_bits_of_randomness() -> None:
    match = ROOM.match(JitsiProvider("https://meet.example.org").new_link())
    assert match is not None
    # URL-safe base64: 6 bits per character.
    assert len(match.group(1)) * 6 >= 128
    assert meetings.ROOM_BYTES * 8 >= 128


def test_every_link_is_new() -> None:
    provider = JitsiProvider()
    links = {provider.new_link() for _ in range(2000)}
    assert len(links) == 2000
    assert all(link.startswith("https://meet.jit.si/psv-") for link in links)


def test_rooms_do_not_share_a_prefix_beyond_chance() -> None:
    provider = JitsiProvider("https://m.example")
    rooms = [provider.new_link().rsplit("/psv-", 1)[1] for _ in range(200)]
    first_chars = {room[0] for room in rooms}
    # 200 draws over 64 symbols: far more than a handful of distinct first characters.
    assert len(first_chars) > 30
    assert math.isclose(len(rooms[0]), 32)


def test_only_video_services_get_a_link() -> None:
    assert meetings.needs_link(Modality.VIDEO)
    for modality in (Modality.PHONE, Modality.CHAT, Modality.IN_PERSON):
        assert not meetings.needs_link(modality)


def test_services_without_a_link_get_instructions() -> None:
    assert meetings.instructions_key(Modality.VIDEO) is None
    assert meetings.instructions_key(Modality.PHONE) == "notify.instructions.phone"
    assert meetings.instructions_key(Modality.CHAT) == "notify.instructions.chat"
    assert meetings.instructions_key(Modality.IN_PERSON) == "notify.instructions.in_person"


def test_instruction_keys_exist_in_the_catalogues() -> None:
    from bot import i18n

    for modality in Modality:
        key = meetings.instructions_key(modality)
        if key is not None:
            for lang in i18n.languages():
                assert i18n.t(key, lang, region="Cusco")
