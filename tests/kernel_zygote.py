"""Start each page's Jupyter kernel by forking one warm process, instead of from nothing.

A fresh kernel spends several CPU-seconds importing torch, and as many again importing
``torch._dynamo`` (the first optimizer a page builds imports it). Twelve pages paid that
twelve times. Here one process per test worker, the *zygote*, imports them once; every
kernel is a ``fork`` of it. A forked kernel is as fresh as a reader's new notebook in all
that a page can see: an empty namespace (nothing is imported *into* it; ``import torch``
is still needed, only faster), its own empty working directory and environment, and the
random generators of a new process (Python's, NumPy's and torch's reseeded from the OS,
as a new process seeds them). ``tests/test_harness.py`` checks this.

Two modes, one file (stdlib only at the top, so the launcher starts in milliseconds):

    python kernel_zygote.py serve SOCKET     the zygote: import, listen, fork a kernel per request
    python kernel_zygote.py launch ARGS...   what jupyter_client starts as "the kernel": asks the
                                             zygote for a kernel with ARGS, passes it its stdio,
                                             forwards signals, and exits when the kernel does

Killing the launcher (``shutdown_kernel(now=True)`` does) closes its socket, and the kernel
exits on that too, so no kernel outlives the harness.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

ZYGOTE_ENV = "LLM_GUIDE_KERNEL_ZYGOTE"  # the zygote's socket path, for the launcher
# The slow imports every page kernel would repeat; nothing else, so a page still imports
# llm_guide (and with it the code under test) itself.
PRELOAD = ("numpy", "torch", "torch._dynamo", "matplotlib.pyplot", "ipykernel.kernelapp")


def _fork_kernel(conn: socket.socket, listener: socket.socket) -> None:
    """In the zygote: read one request, fork, and in the child become the kernel."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message.decode())
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        conn.sendall(f"{pid}\n".encode())
        conn.close()
        return
    # The child: the kernel.
    try:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for target, fd in enumerate(fds):  # the launcher's stdin, stdout, stderr
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _fresh_random_state()

        def _exit_with_launcher() -> None:
            while conn.recv(1024):  # returns b"" once the launcher is gone
                pass
            os._exit(0)

        threading.Thread(target=_exit_with_launcher, daemon=True).start()
        from ipykernel.kernelapp import IPKernelApp

        # ipykernel read JPY_PARENT_PID when the zygote imported it; name the parent here, so
        # the kernel behaves as a launched one (quiet, and exits if its parent goes).
        sys.argv = ["ipykernel_launcher", *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        IPKernelApp.launch_instance()
    except BaseException as error:  # noqa: BLE001 - reported on the launcher's stderr
        print(f"kernel_zygote: the forked kernel failed: {error!r}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)


def _fresh_random_state() -> None:
    """What a new process has: Python's, NumPy's and torch's global generators seeded from
    the OS (a fork would share the zygote's)."""
    import random

    import numpy as np
    import torch

    random.seed()
    np.random.seed()
    torch.seed()


def serve(path: str) -> None:
    # sys.path[0] is this file's folder; a kernel started normally does not have it.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    for name in PRELOAD:
        __import__(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped automatically
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    print("ready", flush=True)
    parent = os.getppid()
    listener.settimeout(2.0)
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            if os.getppid() != parent:  # pytest is gone (killed, say): so is the zygote
                return
            continue
        conn.settimeout(None)
        _fork_kernel(conn, listener)


def launch(argv: list[str]) -> int:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(os.environ[ZYGOTE_ENV])
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            print("kernel_zygote: the zygote closed the connection", file=sys.stderr)
            return 1
        reply += chunk
    pid = int(reply)

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    while conn.recv(1024):  # b"" once the kernel has exited
        pass
    return 0


class Zygote:
    """A running zygote, in a scratch folder of its own; the harness starts one per pytest
    process, and gives nbclient its ``kernel_manager_class``."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="llm-guide-zygote-")
        self.path = os.path.join(self.directory, "zygote.sock")
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "serve", self.path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.close()
            raise RuntimeError(f"the kernel zygote did not start (it said {line!r})")
        os.environ[ZYGOTE_ENV] = self.path  # kernels' launchers inherit it from this process
        self.kernel_manager_class = _forked_kernel_manager_class(
            [sys.executable, "-S", os.path.abspath(__file__), "launch"]
        )

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _forked_kernel_manager_class(launcher: list[str]):
    """nbclient's kernel manager (jupyter_client's async one), starting ``launcher`` where it
    would start ``python -m ipykernel_launcher``."""
    from jupyter_client import AsyncKernelManager

    class ForkedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            # [python, -m, ipykernel_launcher, -f, FILE, ...] -> [launcher, -f, FILE, ...]
            if cmd[1:3] != ["-m", "ipykernel_launcher"]:
                raise RuntimeError(f"unexpected kernel command {cmd}: expected python -m ipykernel_launcher")
            return launcher + cmd[3:]

    return ForkedKernelManager


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["launch"]:
        sys.exit(launch(sys.argv[2:]))
    else:
        sys.exit(__doc__)
