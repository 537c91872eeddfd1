"""podman's Docker-compatible API service for tests: a private socket, private storage, a busybox image.

    with PodmanService() as podman:              # raises unittest.SkipTest(reason) if podman cannot run here
        cid = podman.create_container("web")     # running `sleep`, stops at once on SIGTERM
        ... talk to podman.socket_path (Docker Engine API) ...

Everything lives under one temp dir: storage (--root, vfs driver: no mounts to leak), run state
(--runroot), podman's tmp dir with file locks (no shared /dev/shm lock segment), its network config
dir and its containers.conf (runc runtime, ulimits, file events: see /work/shared/MACHINE-NOTES.md).
Containers get no network (--network none), so no bridge, veth or firewall rule appears on the host.
The image is built without a registry: a rootfs tar of busybox-static, `podman import`ed.
stop() removes every container, stops the service by PID and deletes the temp dir. Host leftovers
that podman itself does not let us move: the empty /run/runc and cgroup libpod_parent directories
and /var/lib/containers/cache (the blob info cache).

Every wait has a deadline. Needs root (rootless podman needs subuids and cannot read container
stats on cgroup v1); the skip reason says so.
"""
import atexit
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import unittest

IMAGE = "localhost/corvid-busybox:latest"
# PID 1 of a container ignores SIGTERM unless it handles it: trap it, so `stop` takes milliseconds
# instead of the 10 s grace period; `wait` (unlike a foreground sleep) is interrupted by the trap.
DEFAULT_COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
# A little CPU every second (a few ms of shell arithmetic), for CPU figures that are above zero.
BUSY_COMMAND = ["sh", "-c", "trap 'exit 0' TERM; "
                "while :; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 0.5; done & wait"]
BUSYBOX_APPLETS = ["sh", "sleep", "true", "cat", "echo", "ls", "ps", "kill", "wget", "yes", "head", "dd"]


def _find_busybox():
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(path):
            return path
    return None


class PodmanService:
    """One `podman system service` with its own storage; see the module docstring."""

    def __init__(self, prefix="corvid-podman-"):
        self._prefix = prefix
        self.base = None
        self.socket_path = None
        self._proc = None
        self._log = None
        self._paused = False

    # ---- lifecycle -------------------------------------------------------------------------

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def docker_host(self):
        return f"unix://{self.socket_path}"

    def start(self):
        """Prepares storage and the image, starts the service. SkipTest if this machine cannot."""
        podman = shutil.which("podman")
        if not podman:
            raise unittest.SkipTest("podman is not installed (packaging/build-deps.sh installs podman runc busybox-static)")
        if not shutil.which("runc") and not os.path.exists("/usr/sbin/runc"):
            raise unittest.SkipTest("runc is not installed (apt-get install runc)")
        busybox = _find_busybox()
        if not busybox:
            raise unittest.SkipTest("busybox-static is not installed (apt-get install busybox-static)")
        if os.geteuid() != 0:
            raise unittest.SkipTest("the podman tests need root: rootless podman needs subuid ranges and "
                                    "cannot read container stats on cgroup v1")
        # Short paths: conmon's attach socket lives under runroot and unix socket paths end at 107 bytes.
        self.base = tempfile.mkdtemp(prefix=self._prefix, dir="/tmp")
        atexit.register(self.stop)  # also when a test run is interrupted
        try:
            self._write_config()
            self._build_image(busybox)
            self._check_can_run()
            self.start_service()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Removes every container, stops the service, deletes the temp dir. Safe to call twice."""
        if self.base is None:
            return
        if self._paused:
            self.resume_service()
        try:
            self.podman("rm", "--all", "--force", "--time", "0", check=False, timeout=60)
        finally:
            self.stop_service()
            # conmon runs `podman container cleanup` after each container ends, which writes to
            # our storage: wait for those to finish, or they recreate what rmtree removed.
            self._wait_for_helpers(timeout=15)
            self._unmount_leftovers()
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    # ---- the service (for tests of a daemon that hangs or goes away) ------------------------

    def start_service(self, timeout=20.0):
        """Starts `podman system service` (again) on the same socket and waits until it answers."""
        if self._proc is not None:
            return
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        self._log = open(os.path.join(self.base, "service.log"), "ab")
        self._proc = subprocess.Popen([*self._global_args(), "system", "service", "--time=0", self.docker_host],
                                      env=self._env(), stdout=self._log, stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                reason = f"podman system service exited with {self._proc.returncode}: {self.service_log()[-2000:]}"
                self._proc = None
                raise unittest.SkipTest(reason)
            if self._ping():
                return
            time.sleep(0.05)
        raise unittest.SkipTest(f"podman system service did not answer /_ping within {timeout}s: "
                                f"{self.service_log()[-2000:]}")

    def stop_service(self, timeout=10.0):
        """Stops the service by its PID (SIGTERM, then SIGKILL). Containers keep running."""
        if self._proc is None:
            return
        if self._paused:
            self.resume_service()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._proc = None
        if self._log:
            self._log.close()
            self._log = None

    def pause_service(self):
        """SIGSTOP: the socket still accepts connections but nothing answers (a hung daemon)."""
        os.kill(self._proc.pid, signal.SIGSTOP)
        self._paused = True

    def resume_service(self):
        os.kill(self._proc.pid, signal.SIGCONT)
        self._paused = False

    def service_log(self):
        try:
            with open(os.path.join(self.base, "service.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # ---- containers --------------------------------------------------------------------------

    def create_container(self, name, command=None, start=True):
        """Creates (and by default starts) a container from the busybox image; returns its full id."""
        verb = ["run", "--detach"] if start else ["create"]
        out = self.podman(*verb, "--name", name, "--network", "none", IMAGE, *(command or DEFAULT_COMMAND))
        return out.stdout.strip().splitlines()[-1]

    def state(self, name_or_id):
        """The container's State object from `podman inspect` ("Status", "Running", "Paused", ...)."""
        out = self.podman("inspect", "--type", "container", name_or_id)
        return json.loads(out.stdout)[0]["State"]

    def exists(self, name_or_id):
        return self.podman("container", "exists", name_or_id, check=False).returncode == 0

    def podman(self, *args, check=True, timeout=60):
        """Runs the podman CLI against this service's storage."""
        out = subprocess.run([*self._global_args(), *args], env=self._env(), capture_output=True, text=True,
                             timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out

    # ---- internals -------------------------------------------------------------------------

    def _global_args(self):
        return ["podman", "--root", os.path.join(self.base, "root"), "--runroot", os.path.join(self.base, "run"),
                "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def _env(self):
        env = dict(os.environ)
        env["CONTAINERS_CONF"] = os.path.join(self.base, "containers.conf")
        env.pop("CONTAINER_HOST", None)
        env.pop("DOCKER_HOST", None)
        return env

    def _write_config(self):
        self.socket_path = os.path.join(self.base, "podman.sock")
        tmp = os.path.join(self.base, "tmp")
        cni = os.path.join(self.base, "cni")
        os.makedirs(tmp)
        os.makedirs(cni)
        with open(os.path.join(self.base, "containers.conf"), "w") as f:
            f.write(f"""[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "{tmp}"
[network]
network_config_dir = "{cni}"
""")

    def _build_image(self, busybox):
        tar_path = os.path.join(self.base, "rootfs.tar")
        with tarfile.open(tar_path, "w") as tar:
            for d in ("bin", "etc", "tmp", "proc", "sys", "dev"):
                info = tarfile.TarInfo(d)
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if d == "tmp" else 0o755
                tar.addfile(info)
            tar.add(busybox, arcname="bin/busybox")
            for applet in BUSYBOX_APPLETS:
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type = tarfile.SYMTYPE
                info.linkname = "busybox"
                tar.addfile(info)
            for name, text in (("etc/passwd", "root:x:0:0:root:/:/bin/sh\n"), ("etc/group", "root:x:0:\n")):
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        out = self.podman("import", "--quiet", tar_path, IMAGE, check=False)
        if out.returncode != 0:
            raise unittest.SkipTest(f"podman import failed: {out.stderr.strip()}")

    def _check_can_run(self):
        out = self.podman("run", "--rm", "--network", "none", IMAGE, "true", check=False, timeout=60)
        if out.returncode != 0:
            raise unittest.SkipTest(f"podman cannot run a container here: {out.stderr.strip()}")

    def _ping(self):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(self.socket_path)
                s.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def _helpers(self):
        """PIDs of live processes whose command line names our temp dir (conmon, podman cleanup)."""
        marker = self.base.encode()
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker not in f.read():
                        continue
                with open(f"/proc/{entry}/stat", "rb") as f:
                    if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                        continue  # a zombie waits for its parent, it touches nothing
            except (OSError, IndexError):
                continue
            pids.append(int(entry))
        return pids

    def _wait_for_helpers(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._helpers():
                return
            time.sleep(0.05)

    def _unmount_leftovers(self):
        # vfs needs no mounts, but a container killed half-way can leave its /dev/shm tmpfs.
        try:
            with open("/proc/self/mounts") as f:
                points = [line.split()[1] for line in f if self.base and line.split()[1].startswith(self.base)]
        except OSError:
            return
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, timeout=10)
