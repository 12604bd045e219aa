"""What crosses a wire between the browser and the server: the signalling protocol's models
(`wire.protocol`, documented in docs/protocol.md). Imports nothing of the server, so clients such as the
load tester can use it alone."""
