"""The media plane: attendees' WebRTC media terminated with aiortc, relayed or processed (virtual
backgrounds) and sent on to their partner.

The control plane drives it only through the media interface (`sfu.interface`, documented in
docs/media.md): `sfu.media_plane.LocalMediaPlane` carries out its commands in this process. Importing
this package loads nothing: the control plane imports `sfu.interface` without pulling in aiortc."""
