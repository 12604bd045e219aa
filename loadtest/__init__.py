"""Load tester: synthetic attendees that drive a running server and measure what they receive.

A client of the server: it speaks the browser protocol (`wire`) over aiortc (`rtc`) and imports nothing
of the server itself. `speedmeet-loadtest` (see `loadtest.cli`) runs it. The pieces: `synthetic_peer`
(one scripted attendee, with its default `pattern_tracks`, the `samples` it keeps of what it receives
and how it `receive`s), `stamp` (a code in each frame), `clip` and `media` (the astronaut video,
pre-encoded), `tracks` (what each load-test attendee sends), `arrival` and `probe` (what it measures),
`profile` and `attendee` (how it behaves), `runner` (the run) and `report`.
"""
