"""An attendee inside a room, for the room's whole life: their media sources and what they receive.

The sources (`VideoSource`, `AudioSource`) outlive connections, so a partner who reloads the page keeps
feeding the same source objects the other side's tracks already point at. The attendee's current
`AttendeeConnection` (if any) carries the outgoing tracks; `route()` points them at the partner's
sources, at the attendee's own processed video (background preview), or at the slate and silence.
"""

from __future__ import annotations

from concurrent.futures import Executor

from sfu.audio_source import AudioSource
from sfu.connection import AttendeeConnection
from sfu.video_source import VideoSource
from wire import protocol as p


class Participant:
    def __init__(
        self, attendee: str, card: p.Me, executor: Executor | None = None, effect_fps: float | None = None
    ) -> None:
        self.attendee = attendee
        self.card = card
        self.video = VideoSource(f"v{attendee}", executor, max_fps=effect_fps)
        self.audio = AudioSource(f"a{attendee}")
        self.connection: AttendeeConnection | None = None
        self.partner: Participant | None = None
        self.background: p.Background = p.NoBackground()
        self.preview = False
        self.session_end_announced = False

    @property
    def ticket_id(self) -> int:
        return self.card.ticket_id

    @property
    def partner_card(self) -> p.PartnerCard:
        return p.PartnerCard(
            ticket_id=self.card.ticket_id,
            name=self.card.name,
            headline=self.card.headline,
            company=self.card.company,
            ticket_type=self.card.ticket_type,
        )

    def route(self) -> None:
        """Point the outgoing tracks at what this attendee should see and hear now."""
        conn = self.connection
        if conn is None:
            return
        if self.partner is not None:
            video: VideoSource | None = self.partner.video
            audio: AudioSource | None = self.partner.audio
        elif self.preview:
            video, audio = self.video, None  # their own processed video, no echo of their voice
        else:
            video, audio = None, None
        if conn.video_out is not None:
            conn.video_out.switch_to(video)
        if conn.audio_out is not None:
            conn.audio_out.switch_to(audio)

    async def close(self) -> None:
        """Stop the sources (the room is going away). Safe to call twice."""
        await self.video.close()
        await self.audio.close()
