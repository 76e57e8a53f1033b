"""CPU seconds of a process and of everything it starts, counted by a cgroup (forked kernels are reaped
by their waiters, so their CPU never reaches a process's count of its children's)."""

import os
from pathlib import Path


class CpuMeter:
    """CPU seconds used by this process and everything it starts (kernels, the warm parent): it moves into
    a cgroup of its own, of cgroup v1's cpuacct or of cgroup v2; the figures are None where it may not."""

    HIERARCHIES = (
        (Path("/sys/fs/cgroup/cpuacct"), "cpuacct", "cpuacct.usage", 1e-9),
        (Path("/sys/fs/cgroup/unified"), "", "cpu.stat", 1e-6),
        (Path("/sys/fs/cgroup"), "", "cpu.stat", 1e-6),
    )

    def __init__(self):
        self.folder = None
        for hierarchy, controller, name, unit in self.HIERARCHIES:
            if os.geteuid() == 0 and (hierarchy / "cgroup.procs").exists():
                self.home = hierarchy / self._own_path(controller) / "cgroup.procs"
                self.folder = hierarchy / f"cpu-meter-{os.getpid()}"
                self.folder.mkdir()
                (self.folder / "cgroup.procs").write_text(str(os.getpid()))
                self.file, self.unit = self.folder / name, unit
                return

    @staticmethod
    def _own_path(controller: str) -> str:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(",") or controllers == controller:
                return path.lstrip("/")
        return ""

    def seconds(self) -> float:
        text = self.file.read_text()
        return int(text.split("usage_usec")[1].split()[0] if "usage_usec" in text else text) * self.unit

    def close(self):
        """Leave the cgroup: what still runs in it (a warm parent, which stops when this process exits) goes
        back to where this process came from."""
        if self.folder is not None:
            for pid in (self.folder / "cgroup.procs").read_text().split():
                self.home.write_text(pid)
            self.folder.rmdir()
