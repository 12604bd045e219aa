"""Session rooms: one live networking session each, with its matcher, its attendees' sockets and its
history rows. The media is the media plane's, driven through `sfu.interface` (see docs/media.md)."""
