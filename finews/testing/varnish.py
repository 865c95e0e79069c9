"""Varnish (deploy/varnish/finews.vcl) in front of a finews server, on a free port of 127.0.0.1."""

import contextlib
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import urllib.parse
from pathlib import Path

from .server import BASE_DIR, free_port, wait_until_answering

VCL = BASE_DIR / "deploy" / "varnish" / "finews.vcl"
# Debian's varnish.service as production runs it (the README's Install step puts it in place).
DROP_IN = BASE_DIR / "deploy" / "varnish" / "varnish.service.d" / "finews.conf"
VARNISHD = shutil.which("varnishd") or "/usr/sbin/varnishd"
VARNISHSTAT = shutil.which("varnishstat") or "/usr/bin/varnishstat"
VARNISHLOG = shutil.which("varnishlog") or "/usr/bin/varnishlog"
# The working directory (-n) and process of each Varnish started here, by its URL.
_instances = {}


def installed():
    return Path(VARNISHD).exists()


def configuration(backend_urls):
    """The project's VCL with one backend for each of ``backend_urls``, all in its director, as the
    VCL's comments tell an operator to write it."""
    text = VCL.read_text()
    backend = re.search(r"^backend finews_1 \{.*?^\}\n", text, re.DOTALL | re.MULTILINE)[0]
    backends, additions = [], []
    for number, url in enumerate(backend_urls, start=1):
        address = urllib.parse.urlsplit(url)
        block = backend.replace("finews_1", f"finews_{number}")
        block = re.sub(r'\.host = "[^"]*";', f'.host = "{address.hostname}";', block)
        backends.append(re.sub(r'\.port = "[^"]*";', f'.port = "{address.port}";', block))
        additions.append(f"    finews.add_backend(finews_{number});\n")
    text = text.replace(backend, "\n".join(backends))
    return text.replace("    finews.add_backend(finews_1);\n", "".join(additions))


def production_parameters():
    """The run-time parameters (``-p name=value``) production's varnishd starts with: tests and
    benchmarks measure the Varnish that runs."""
    start = [line for line in DROP_IN.read_text().splitlines() if line.startswith("ExecStart=")][-1]
    arguments = shlex.split(start.split("=", 1)[1])
    return [part for flag, value in itertools.pairwise(arguments) if flag == "-p" for part in (flag, value)]


@contextlib.contextmanager
def varnish(backend_url, memory="256m", port=None):
    """Yield the base URL of a Varnish running the project's VCL in front of ``backend_url`` (or
    of each of a list of URLs, in turn); ``statistics(url)`` reads its counters."""
    backend_urls = [backend_url] if isinstance(backend_url, str) else list(backend_url)
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="finews-varnish-") as workdir:
        Path(workdir).chmod(0o755)  # the cache process runs as Debian's vcache user
        vcl = Path(workdir) / "finews.vcl"
        vcl.write_text(configuration(backend_urls))
        vcl.chmod(0o644)
        command = [VARNISHD, "-F", "-n", f"{workdir}/n", "-a", f"127.0.0.1:{port}", "-f", str(vcl)]
        command += ["-s", f"malloc,{memory}", *production_parameters(), "-p", "default_grace=0"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}"
        _instances[url] = (f"{workdir}/n", process)
        try:
            try:
                # Through Varnish: its probe has seen the backend up.
                wait_until_answering(url, process, "varnishd")
            except RuntimeError as error:
                said = process.stderr.read().decode()[-2000:] if process.poll() is not None else ""
                raise RuntimeError(f"{error}: {said}") from None
            yield url
        finally:
            _instances.pop(url, None)
            process.terminate()
            process.wait(timeout=20)


def statistics(url):
    """The counters of the Varnish at ``url`` (started by varnish()): {"MAIN.cache_hit": n, ...}."""
    output = subprocess.run(
        [VARNISHSTAT, "-n", _instances[url][0], "-1", "-j"], capture_output=True, text=True, check=True
    ).stdout
    counters = json.loads(output)
    counters = counters.get("counters", counters)  # varnishstat's JSON nests them from 7.0 on
    return {name: value["value"] for name, value in counters.items() if isinstance(value, dict) and "value" in value}


def log(url, *tags):
    """What the Varnish at ``url`` (started by varnish()) has in its shared-memory log, as
    ``varnishlog -d`` shows it: its records of ``tags`` (all when none is given)."""
    command = [VARNISHLOG, "-d", "-n", _instances[url][0], *(["-i", ",".join(tags)] if tags else [])]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout


def hang(url):
    """Stop the Varnish at ``url`` (started by varnish()) without ending it: it keeps its cache and
    its port, and answers nothing (a purge sent to it times out) until ``wake(url)``; then it
    reads what was sent meanwhile (a purge given up on by its sender is still applied: for a
    purge that is lost, use Partition)."""
    _signal_all(url, signal.SIGSTOP)


def wake(url):
    _signal_all(url, signal.SIGCONT)


def _signal_all(url, number):
    """Send signal ``number`` to varnishd's manager process and its cache process."""
    manager = _instances[url][1].pid
    children = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _parent_of(stat) == manager]
    for pid in (manager, *children):
        os.kill(pid, number)


def _parent_of(stat_file):
    try:
        # "pid (name) state ppid …": the name may hold spaces, so split after its closing parenthesis.
        return int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class Partition(socketserver.ThreadingTCPServer):
    """A path to the Varnish at ``url`` on a port of its own (``partition.url``) that can be cut
    as a network partition cuts it: while ``cut``, connections are taken and nothing reaches
    Varnish, which keeps its cache; a purge sent then is lost."""

    daemon_threads = True

    def __init__(self, url):
        target = urllib.parse.urlsplit(url)
        self.target, self.cut = (target.hostname, target.port), False
        super().__init__(("127.0.0.1", 0), _Forwarder)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
        self.server_close()


class _Forwarder(socketserver.BaseRequestHandler):
    def handle(self):
        if self.server.cut:
            while self.request.recv(65536):
                pass
            return
        with socket.create_connection(self.server.target) as upstream:
            threading.Thread(target=_copy, args=(upstream, self.request), daemon=True).start()
            _copy(self.request, upstream)


def _copy(source, destination):
    try:
        while data := source.recv(65536):
            destination.sendall(data)
        destination.shutdown(socket.SHUT_WR)
    except OSError:
        pass
