"""The lab's own cameras (RealSense, webcams, video files, tactile sensors) beside the station's.

They come from the camera config file (`devices.cameras.config`, docs/cameras.md). Each one is a
threaded device camera: `read_latest` never waits, so the GUI polls the newest frame at the view's
rate and shows it; connecting (which may wait for a device to open) runs on a `JobRunner`. Connected
cameras are recorded with the episode like the station's own. Cameras of kind ``sim`` are left out:
the station's cameras are already shown, and they belong to the station thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.gui.jobs import JobRunner, describe_error
from devices.camera import Camera, CameraStatus
from devices.cameras.config import CameraConfig, default_config_path, load_camera_configs
from devices.cameras.registry import CameraContext, build_camera

VIEW_FPS = 10


class ExternalCameras(QObject):
    frame = Signal(str, object)  # camera name, (H, W, 3) uint8
    changed = Signal()  # the list, a connection or an error changed

    def __init__(self, config_path: str | Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config_path = Path(config_path) if config_path is not None else None
        self.configs: dict[str, CameraConfig] = {}
        self.cameras: dict[str, Camera] = {}
        self.errors: dict[str, str] = {}
        self.problem = ""  # the config file itself could not be read
        self.jobs = JobRunner("camera", self)
        self._last_index: dict[str, int] = {}
        self._poll = QTimer(self)
        self._poll.timeout.connect(self._read_frames)
        self._poll.start(int(1000 / VIEW_FPS))
        self.reload()

    @property
    def path(self) -> Path:
        return self.config_path or default_config_path()

    def reload(self) -> None:
        """Re-read the config (connected cameras stay connected)."""
        try:
            configs = load_camera_configs(self.config_path)
            self.problem = ""
        except (OSError, ValueError) as exc:
            configs = []
            self.problem = describe_error(exc)
        self.configs = {c.name: c for c in configs if c.kind != "sim"}
        self.changed.emit()

    def connected(self) -> dict[str, Camera]:
        return {n: c for n, c in self.cameras.items() if c.is_connected}

    def connect_camera(self, name: str) -> bool:
        if self.jobs.is_running() or name not in self.configs:
            return False
        config = self.configs[name]

        def job(progress, should_stop) -> Camera:
            camera = self.cameras.get(name) or build_camera(config, CameraContext(base_dir=self.path.parent))
            camera.connect()
            return camera

        def done(camera: Camera) -> None:
            self.cameras[name] = camera
            self.errors.pop(name, None)
            self.changed.emit()

        def failed(exc: BaseException) -> None:
            self.errors[name] = describe_error(exc)
            self.changed.emit()

        self.jobs.start(job, on_done=done, on_exception=failed)
        self.changed.emit()
        return True

    def disconnect_camera(self, name: str) -> None:
        camera = self.cameras.pop(name, None)
        if camera is not None:
            camera.disconnect()
        self._last_index.pop(name, None)
        self.changed.emit()

    def status(self, name: str) -> tuple[str, str]:
        """(light state, one line) for the Station panel."""
        config = self.configs.get(name)
        label = f"{name} ({config.kind}, {config.width}×{config.height})" if config else name
        if name in self.errors:
            return "error", f"{label}: {self.errors[name]}"
        camera = self.cameras.get(name)
        if camera is None or not camera.is_connected:
            return ("busy", f"{label}: connecting…") if self.jobs.is_running() else ("idle", f"{label}: not connected")
        st: CameraStatus = camera.status()
        if st.state == "streaming":
            drops = f" · {st.frames_dropped} dropped" if st.frames_dropped else ""
            return "ok", f"{label}: {st.fps:.0f} fps{drops}"
        if st.state in ("error", "stalled", "ended"):
            return ("error" if st.state == "error" else "warn"), f"{label}: {st.state} {st.last_error}".strip()
        return "busy", f"{label}: {st.state}"

    def _read_frames(self) -> None:
        for name, camera in list(self.cameras.items()):
            if not camera.is_connected:
                continue
            frame = camera.read_latest()
            if frame is None or self._last_index.get(name) == frame.index:
                continue
            self._last_index[name] = frame.index
            self.frame.emit(name, frame.image)

    def shutdown(self) -> None:
        self._poll.stop()
        self.jobs.shutdown(5000)
        for name in list(self.cameras):
            self.disconnect_camera(name)
