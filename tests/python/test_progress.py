"""Progress on a terminal, nothing when piped: `refgraph run` with stderr a
pseudo-terminal shows the capture's spinner and then says what it captured;
with stderr a pipe it draws nothing."""

import os
import pty
import select
import subprocess
import sys

from test_collectors import refgraph_bin

SCRIPT = "import sys\nkept = [list(range(10)) for _ in range(300000)]\n"


def _read_all(fd, proc):
    out = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out.decode("utf-8", "replace")


def test_run_shows_the_capture_on_a_terminal_and_nothing_when_piped(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    cmd = [refgraph_bin(), "run", "-o", str(tmp_path / "tty.rgs"), "--", sys.executable, str(script)]
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = _read_all(master, proc)
    proc.wait()
    os.close(master)
    assert proc.returncode == 0, seen
    assert "capturing the heap into" in seen, seen
    assert "refgraph: captured" in seen and "refgraph: wrote" in seen, seen
    piped = subprocess.run([refgraph_bin(), "run", "-o", str(tmp_path / "pipe.rgs"), "--", sys.executable, str(script)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert piped.returncode == 0, piped.stderr
    assert "refgraph: captured" in piped.stderr
    assert "capturing the heap" not in piped.stderr and "\x1b" not in piped.stderr, repr(piped.stderr)
    summary = subprocess.run([refgraph_bin(), "summary", str(tmp_path / "pipe.rgs")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True)
    assert summary.returncode == 0 and summary.stderr == ""
