"""The media bundle of a load test, pre-encoded or encoded live."""

from __future__ import annotations

from loadtest.media import LoadMedia, VideoMode
from loadtest.tracks import EncodedVideoTrack, LiveVideoTrack


def test_media_bundle_builds_both_modes() -> None:
    encoded = LoadMedia.build(VideoMode.encoded, 160, 120, 10.0, 150_000)
    assert encoded.clip is not None and len(encoded.clip) == 60 and not encoded.pictures
    assert isinstance(encoded.video_track(encoded.send_log()), EncodedVideoTrack)
    live = LoadMedia.build(VideoMode.live, 160, 120, 10.0)
    assert live.clip is None and len(live.pictures) == 60
    assert isinstance(live.video_track(live.send_log()), LiveVideoTrack)
