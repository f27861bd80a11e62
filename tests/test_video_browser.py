"""The videos we write play in a real browser: headless Chromium (Debian's, installed by setup.sh)
loads an MP4 from our writer over loopback HTTP and plays it; OpenCV's mp4v, what eval --video wrote
before, is refused (MEDIA_ERR_SRC_NOT_SUPPORTED), which shows the check can fail."""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from recorder.video import Mp4Writer

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

PAGE = """<html><body><pre id="out"></pre><script>
const out = document.getElementById("out");
for (const f of ["ours.mp4", "mp4v.mp4"]) {
  const v = document.createElement("video"); v.muted = true; v.src = f;
  v.addEventListener("loadeddata", () => v.play().then(() => setTimeout(() => {
    out.textContent += f + " played " + v.videoWidth + "x" + v.videoHeight + " duration=" + v.duration.toFixed(1)
      + " t=" + (v.currentTime > 0.5 ? "moving" : "stuck") + "\\n"; }, 1500)));
  v.addEventListener("error", () => { out.textContent += f + " error " + v.error.code + "\\n"; });
  document.body.appendChild(v);
}
</script></body></html>"""


def test_chromium_plays_our_h264_and_refuses_mp4v(tmp_path):
    import cv2

    frames = [np.full((64, 96, 3), (i * 8) % 256, np.uint8) for i in range(30)]
    with Mp4Writer(tmp_path / "ours.mp4", 96, 64, 10.0) as w:
        for f in frames:
            w.write(f)
    old = cv2.VideoWriter(str(tmp_path / "mp4v.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 64))
    for f in frames:
        old.write(f)
    old.release()
    (tmp_path / "index.html").write_text(PAGE)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
                            "--autoplay-policy=no-user-gesture-required", "--virtual-time-budget=8000",
                            "--dump-dom", f"http://127.0.0.1:{server.server_address[1]}/index.html"],
                           capture_output=True, text=True, timeout=90)
    finally:
        server.shutdown()
    assert "ours.mp4 played 96x64 duration=3.0 t=moving" in r.stdout, r.stdout[-2000:]
    assert "mp4v.mp4 error 4" in r.stdout, r.stdout[-2000:]
