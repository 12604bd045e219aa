"""aiortc helpers shared by the media plane (`sfu`) and its clients (`loadtest`): frame-complete jitter
buffers, the latest-frame slot, closing a peer connection, and integer clocks for aiortc's per-packet
timestamps. Imports nothing of the server."""
