"""Load tester: synthetic attendees that drive a running server and measure what they receive.

`speedmeet loadtest` (see `sfu.loadtest.cli`); the pieces: `stamp` (a code in each frame), `clip` and
`media` (the astronaut video, pre-encoded), `tracks` (what each attendee sends), `probe` (what it
measures), `profile` and `attendee` (how it behaves), `runner` (the run) and `report`.
"""

from sfu.loadtest.cli import add_parser

__all__ = ["add_parser"]
