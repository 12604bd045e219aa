"""The media plane: aiortc peer connections, tracks, the relay, codecs and the effects adapter, driven by
the control plane only through the media interface (`sfu.interface`, docs/media.md). Importing the
package loads nothing: the control plane imports `sfu.interface` without pulling in aiortc."""
