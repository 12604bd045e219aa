// Camera, microphone and the one RTCPeerConnection the page keeps with the server for its whole stay.

const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };

/** Why the camera/microphone could not be used, in words a participant can act on. */
export class MediaProblem extends Error {
  constructor(kind, message) {
    super(message);
    this.name = "MediaProblem";
    this.kind = kind; // "denied" | "missing" | "busy" | "insecure" | "unsupported" | "other"
  }
}

function explain(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new MediaProblem(
      "denied",
      "Your browser blocked the camera and microphone for this page. Click the camera icon in the address " +
        "bar (or the lock icon), choose Allow for camera and microphone, then press Try again.",
    );
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return new MediaProblem(
      "missing",
      "No camera or microphone was found. Plug one in (or enable it in your system settings), then press Try again.",
    );
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return new MediaProblem(
      "busy",
      "Your camera or microphone is in use by another application (a video call app?). Close it, then press Try again.",
    );
  }
  return new MediaProblem("other", `The camera could not be started (${name || err}).`);
}

export class LocalMedia extends EventTarget {
  constructor() {
    super();
    this.stream = new MediaStream();
    this.micEnabled = true;
    this.camEnabled = true;
  }

  get videoTrack() {
    return this.stream.getVideoTracks()[0] || null;
  }

  get audioTrack() {
    return this.stream.getAudioTracks()[0] || null;
  }

  /** Ask for camera and microphone; falls back to whichever of the two exists. Throws MediaProblem. */
  async start() {
    if (!window.isSecureContext) {
      throw new MediaProblem("insecure", "Camera access needs a secure page (https).");
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new MediaProblem("unsupported", "This browser cannot use a camera. Please use a recent Chrome.");
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: VIDEO_CONSTRAINTS, audio: true });
    } catch (err) {
      if (err.name !== "NotFoundError") throw explain(err);
      // One of the two is missing: take what there is.
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: VIDEO_CONSTRAINTS });
      } catch {
        try {
          stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        } catch (err3) {
          throw explain(err3);
        }
      }
    }
    this.stop();
    this.stream = new MediaStream(stream.getTracks());
    this.applyEnabled();
    this.dispatchEvent(new CustomEvent("tracks"));
  }

  stop() {
    for (const track of this.stream.getTracks()) track.stop();
  }

  applyEnabled() {
    if (this.audioTrack) this.audioTrack.enabled = this.micEnabled;
    if (this.videoTrack) this.videoTrack.enabled = this.camEnabled;
  }

  setMicEnabled(on) {
    this.micEnabled = on;
    this.applyEnabled();
  }

  setCamEnabled(on) {
    this.camEnabled = on;
    this.applyEnabled();
  }

  async devices() {
    const list = await navigator.mediaDevices.enumerateDevices();
    return {
      cameras: list.filter((d) => d.kind === "videoinput"),
      mics: list.filter((d) => d.kind === "audioinput"),
      speakers: list.filter((d) => d.kind === "audiooutput"),
    };
  }

  /** Switch to another camera or microphone; the peer connection swaps the track without renegotiation. */
  async switchDevice(kind, deviceId) {
    const constraints =
      kind === "video"
        ? { video: { ...VIDEO_CONSTRAINTS, deviceId: { exact: deviceId } } }
        : { audio: { deviceId: { exact: deviceId } } };
    let fresh;
    try {
      fresh = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      throw explain(err);
    }
    const track = kind === "video" ? fresh.getVideoTracks()[0] : fresh.getAudioTracks()[0];
    const old = kind === "video" ? this.videoTrack : this.audioTrack;
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
    this.applyEnabled();
    this.dispatchEvent(new CustomEvent("tracks"));
    return track;
  }

  currentDeviceId(kind) {
    const track = kind === "video" ? this.videoTrack : this.audioTrack;
    return track ? track.getSettings().deviceId || "" : "";
  }
}

/**
 * The page's peer connection to the server. The page offers (audio + video, sendrecv); the server
 * answers; the tracks it sends switch between the waiting slate, the partner and the self-preview
 * without renegotiation.
 */
export class PeerLink extends EventTarget {
  constructor(signalling, local, iceServers) {
    super();
    this.signalling = signalling;
    this.local = local;
    this.iceServers = iceServers || [];
    this.pc = null;
    this.remoteStream = new MediaStream();
    this.senders = {};
  }

  async start() {
    this.close();
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    this.remoteStream = new MediaStream();
    for (const kind of ["audio", "video"]) {
      const track = kind === "audio" ? this.local.audioTrack : this.local.videoTrack;
      const transceiver = pc.addTransceiver(track || kind, {
        direction: "sendrecv",
        streams: [this.local.stream],
      });
      this.senders[kind] = transceiver.sender;
    }
    pc.addEventListener("track", (event) => {
      if (pc !== this.pc) return;
      this.remoteStream.addTrack(event.track);
      this.dispatchEvent(new CustomEvent("remote", { detail: this.remoteStream }));
    });
    pc.addEventListener("icecandidate", (event) => {
      if (pc !== this.pc) return;
      this.signalling.send({ type: "ice", candidate: event.candidate ? event.candidate.toJSON() : null });
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== this.pc) return;
      this.dispatchEvent(new CustomEvent("state", { detail: pc.connectionState }));
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.signalling.send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  async handleAnswer(sdp) {
    if (!this.pc || this.pc.signalingState !== "have-local-offer") return;
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  async replaceTrack(kind, track) {
    const sender = this.senders[kind];
    if (sender) await sender.replaceTrack(track);
  }

  get state() {
    return this.pc ? this.pc.connectionState : "closed";
  }

  /** RTP packets received so far on every track (the server always sends: slate or partner, and audio). */
  async packetsReceived() {
    if (!this.pc) return 0;
    let total = 0;
    const report = await this.pc.getStats();
    report.forEach((stat) => {
      if (stat.type === "inbound-rtp") total += stat.packetsReceived || 0;
    });
    return total;
  }

  close() {
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      pc.close();
    }
    this.senders = {};
  }
}
