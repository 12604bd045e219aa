"""aiortc helpers shared by the media plane (`sfu`) and its clients (`loadtest`): frame-complete jitter
buffers, the latest-frame slot, closing a peer connection, integer clocks for aiortc's per-packet
timestamps, and a tap on the encoded frames a receiver reassembles. Imports nothing of the server."""
