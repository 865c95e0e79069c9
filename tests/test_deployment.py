"""The README's production host, as written: deploy/'s files checked by their own tools, then run for
real (nginx with TLS → Varnish → gunicorn, and the import watcher) with production settings and an
ALLOWED_HOSTS that is only the site's name.

What differs from a real host, and nothing else (Host.render): the ports (free ones), the folders
(temporary ones for /srv/finews, /etc/finews, the media root and the scraper's folder), the
repository /srv/finews/repo is cloned from (this checkout's files as they are, committed in a
repository of the test's own), the release's virtualenv (this test run's own, rather than a minute
of pip install), the certificate (made here), the database (a role and database of this test's own,
made with the README's commands, reached over TCP rather than the peer-authenticated socket), Redis
(the test run's own) and systemd (Service: the units' commands run as systemd runs them). Readers come from 127.0.0.9 and 127.0.0.10: on loopback any 127.x
address can be sent from, and none of them is a trusted proxy.

Needs nginx, Varnish with vmod-xkey, systemd-analyze and openssl: skipped without them, except in CI
(FINEWS_REQUIRE_DEPLOY_TOOLS=1). Runs once, in the PostgreSQL pass (production's database).
"""

import contextlib
import hashlib
import http.client
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from finews.testing import redis
from finews.testing.server import free_port, wait_until_answering
from tests.conftest import post_text

BASE_DIR = Path(__file__).resolve().parents[1]
DEPLOY = BASE_DIR / "deploy"
# The site's name as an operator sets it (the README's `site=`), in place of the documented one.
SITE = "news.example.org"
READER, OTHER_READER = "127.0.0.9", "127.0.0.10"
# The load balancer of the third layout, in front of nginx; named in TRUSTED_PROXIES as the README says.
BALANCER = "127.0.0.2"
SAMPLE_TITLE = "示例：央行宣布下调存款准备金率"

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="runs once, in the PostgreSQL pass: production's database"
)


def required(program):
    """The path of ``program``; the test is skipped without it, or fails in CI."""
    found = shutil.which(program) or next(
        (path for path in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.path.exists(path)), None
    )
    if found is None:
        message = f"{program} is needed (Debian: nginx-light, varnish varnish-modules, systemd, openssl)"
        if os.environ.get("FINEWS_REQUIRE_DEPLOY_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def readme_section(title):
    text = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(text, language):
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def steps_of(block):
    """A README block's commands, one a line, comments dropped."""
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def production_steps():
    """The README's installation commands."""
    (block, *_) = code_blocks(readme_section("Production"), "sh")
    return steps_of(block)


def run_installation_steps(host, *beginnings):
    """The README's installation steps that begin with ``beginnings``, run as written in one shell
    after the block's settings (``site`` set to SITE), on ``host``'s paths. Files are left to this
    test's user: the host has no finews user."""
    steps = production_steps()
    settings_lines = [f"site={SITE}" if step.startswith("site=") else step for step in steps if re.match(r"\w+=", step)]
    chosen = [step for step in steps if step.startswith(beginnings)]
    assert len(chosen) == len(beginnings), (beginnings, chosen)
    script = "\n".join(settings_lines + [host.render(step).replace(" -o finews ", " ") for step in chosen])
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], check=True, capture_output=True)


def upgrade_steps():
    """The README's upgrade commands: the block that pulls."""
    (block,) = [block for block in code_blocks(readme_section("Production"), "sh") if " pull" in block]
    return steps_of(block)


def documented_scrape_target():
    (scrape,) = [block for block in code_blocks(readme_section("Production"), "yaml") if "scrape_configs" in block]
    return re.search(r'targets: \["([^"]+)"\]', scrape)[1]


def unit_setting(path, key):
    """The last value of ``key`` in a systemd unit file (a drop-in's empty ExecStart= resets it)."""
    values = [line.split("=", 1)[1] for line in path.read_text().splitlines() if line.startswith(f"{key}=")]
    return values[-1]


class Host:
    """The documented host's paths and ports, and this test's stand-ins for them."""

    def __init__(self, folder):
        self.folder = folder
        self.ports = {port: free_port() for port in (8000, 6081, 6082, 80, 443)}
        self.paths = {
            "/srv/finews/repo/deploy/finews.env": DEPLOY / "finews.env",
            "/srv/finews/media": folder / "media",
            "/srv/finews/current/deploy/varnish/finews.vcl": folder / "finews.vcl",
            "/srv/finews": folder / "finews",
            "/srv/scraper/_posts": folder / "scraper" / "_posts",
            "/var/www/html": folder / "webroot",
            "/etc/finews/finews.env": folder / "finews.env",
            "/etc/finews/restored.env": folder / "restored.env",
            "/etc/nginx/sites-enabled/finews": folder / "nginx-site.conf",
            "/etc/varnish/secret": folder / "varnish-secret",
            f"/etc/letsencrypt/live/{SITE}/fullchain.pem": folder / "certificate.pem",
            f"/etc/letsencrypt/live/{SITE}/privkey.pem": folder / "key.pem",
        }

    def port(self, documented):
        return self.ports[int(documented)]

    def render(self, text):
        for documented, here in self.paths.items():
            text = text.replace(documented, str(here))
        text = re.sub(r"127\.0\.0\.1:(8000|6081)\b", lambda match: f"127.0.0.1:{self.port(match[1])}", text)
        text = text.replace("localhost:6082", f"127.0.0.1:{self.ports[6082]}")
        text = text.replace('.port = "8000";', f'.port = "{self.ports[8000]}";')
        return re.sub(
            r"listen (\[::\]:)?(80|443)\b",
            lambda match: f"listen {'[::1]' if match[1] else '127.0.0.1'}:{self.port(match[2])}",
            text,
        )

    @property
    def current(self):
        return self.paths["/srv/finews"] / "current"

    def write_files(self, database_url, **environment):
        """The files of deploy/ outside the site's folder, as this host has them: the environment
        file (written by the README's steps: SECRET_KEY and ALLOWED_HOSTS set), the nginx site (the
        README's step), the VCL, a certificate and Varnish's secret."""
        self.paths["/srv/scraper/_posts"].mkdir(parents=True)
        environment_file = self.paths["/etc/finews/finews.env"]
        run_installation_steps(self, "install -D -m 600 -o finews /srv/finews/repo/deploy/finews.env", "sed -i ")
        written = dict(line.split("=", 1) for line in environment_file.read_text().splitlines() if "=" in line)
        assert len(written["SECRET_KEY"]) >= 50 and written["ALLOWED_HOSTS"] == SITE, written
        assert environment_file.stat().st_mode & 0o777 == 0o600
        values = {"DATABASE_URL": database_url, **environment}
        lines = []
        for line in self.render(environment_file.read_text()).splitlines():
            name = line.split("=", 1)[0]
            lines.append(f"{name}={values.pop(name)}" if name in values else line)
        environment_file.write_text("\n".join(lines + [f"{k}={v}" for k, v in values.items()]))
        self.write_vcl(DEPLOY)
        self.paths["/etc/varnish/secret"].write_text(secrets.token_hex(16))
        subprocess.run(
            [required("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={SITE}",
             "-addext", f"subjectAltName=DNS:{SITE}", "-keyout", str(self.paths[f"/etc/letsencrypt/live/{SITE}/privkey.pem"]),
             "-out", str(self.certificate)],
            check=True, capture_output=True,
        )  # fmt: skip

    def write_vcl(self, deploy):
        """The VCL of ``deploy`` (a release's deploy/ folder) where Varnish reads it."""
        vcl = self.paths["/srv/finews/current/deploy/varnish/finews.vcl"]
        vcl.write_text(self.render((deploy / "varnish" / "finews.vcl").read_text()))
        vcl.chmod(0o644)

    def site_user_environment(self):
        """What a `runuser -u finews -- …` step runs with: this user's environment, and the host's
        environment file for deploy/manage."""
        return {
            **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}},
            "FINEWS_ENV": str(self.paths["/etc/finews/finews.env"]),
        }

    def as_site_user(self, step):
        """Run a README step ``runuser -u finews -- …`` as this user; its output."""
        assert step.startswith("runuser -u finews -- "), step
        command = shlex.split(self.render(step.removeprefix("runuser -u finews -- ")))
        result = subprocess.run(command, env=self.site_user_environment(), capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{step}\n{result.stdout}{result.stderr}"
        return result.stdout

    def nginx_site(self):
        """The nginx site the README's step installs, from the release running, on this host's ports."""
        run_installation_steps(self, 'sed "s/finews')
        return self.render(self.paths["/etc/nginx/sites-enabled/finews"].read_text())

    @property
    def certificate(self):
        return self.paths[f"/etc/letsencrypt/live/{SITE}/fullchain.pem"]

    def environment(self):
        """The environment systemd gives the units: the environment file's, and a PATH."""
        environment = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
        for line in self.paths["/etc/finews/finews.env"].read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, value = line.split("=", 1)
                environment[name] = value
        return environment

    def unit_command(self, unit):
        """A unit's command and folder, read from the release running (as systemd reads its copy)."""
        path = self.current / "deploy" / "systemd" / unit
        command = shlex.split(self.render(unit_setting(path, "ExecStart")))
        return command, self.render(unit_setting(path, "WorkingDirectory"))

    def varnish_command(self, workdir):
        command = shlex.split(
            self.render(unit_setting(DEPLOY / "varnish" / "varnish.service.d" / "finews.conf", "ExecStart"))
        )
        if os.geteuid() != 0:  # the jail's user switch needs root
            at = command.index("-j")
            del command[at : at + 2]
        return [*command, "-n", str(workdir)]

    def nginx_configuration(self, site_conf, name="nginx"):
        """A main nginx.conf around ``site_conf`` (the text of a site file), with its own pid and temp files."""
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        (folder / "site.conf").write_text(site_conf)
        temp = "\n".join(
            f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        main = folder / "nginx.conf"
        main.write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\ndaemon off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
            + f"events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n{temp}\n    include {folder / 'site.conf'};\n}}\n"
        )
        return main, folder / "error.log"


def start(command, name, cwd=None, environment=None, ready=None, pass_fds=()):
    """``command`` started; ``ready`` is awaited (a URL to poll, or a port)."""
    process = subprocess.Popen(
        command, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True, pass_fds=pass_fds,
    )  # fmt: skip
    if isinstance(ready, str):
        try:
            wait_until_answering(ready, process, name)
        except RuntimeError as error:
            process.kill()
            raise RuntimeError(f"{error}: {process.stderr.read().decode()[-2000:]}") from None
    elif isinstance(ready, int):
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", ready), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start: {process.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.05)
    return process


def stop(process):
    """SIGTERM, then the process's end awaited, as systemctl stop does (SIGKILL after 30 s)."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def running(command, name, cwd=None, environment=None, ready=None):
    """``command`` running while the block runs."""
    process = start(command, name, cwd, environment, ready)
    try:
        yield process
    finally:
        stop(process)


class Service:
    """A unit of deploy/systemd run as systemd runs it: its ExecStart, in its WorkingDirectory, with
    the environment file's variables, read from the release running when it starts. A unit with a
    .socket of its own (finews-web) gets the socket as systemd passes it (LISTEN_FDS, fd 3), held
    open across restarts. ``down`` lists its restarts: (asked to stop, stopped, answering again), monotonic."""

    def __init__(self, host, unit, ready=None):
        self.host, self.unit, self.ready = host, unit, ready
        self.listener = None
        socket_unit = host.current / "deploy" / "systemd" / unit.replace(".service", ".socket")
        if socket_unit.exists():
            address, port = unit_setting(socket_unit, "ListenStream").rsplit(":", 1)
            self.listener = socket.create_server((address, host.port(port)), backlog=socket.SOMAXCONN)
        self.process, self.down = None, []

    def start(self):
        command, folder = self.host.unit_command(self.unit)
        environment, pass_fds = self.host.environment(), ()
        if self.listener:
            descriptor = self.listener.fileno()
            environment["LISTEN_FDS"] = "1"
            command = ["bash", "-c", f'LISTEN_PID=$$ exec "$@" 3<&{descriptor}', "bash", *command]
            pass_fds = (descriptor,)
        self.process = start(command, self.unit, folder, environment, self.ready, pass_fds)

    def stop(self):
        stop(self.process)

    def restart(self):
        stopping = time.monotonic()
        self.stop()
        stopped = time.monotonic()
        self.start()
        self.down.append((stopping, stopped, time.monotonic()))

    def close(self):
        self.stop()
        if self.listener:
            self.listener.close()


def database_for_the_host(role):
    """Run the README's role and database commands for ``role``; its URL, and a function that drops both."""
    steps = production_steps()
    role_steps = [step for step in steps if re.match(r"runuser -u postgres -- create(user|db)\b", step)]
    assert role_steps == [
        "runuser -u postgres -- createuser finews",
        "runuser -u postgres -- createdb --owner finews finews",
    ]
    admin = settings.DATABASES["default"]
    url_of = f"postgres://{{user}}@{admin['HOST'] or '127.0.0.1'}:{admin['PORT'] or 5432}/{{database}}"
    as_postgres = os.geteuid() == 0 and shutil.which("runuser") and _has_user("postgres")

    def run(command):
        if as_postgres:  # as written, with this test's name for the role
            command = command.replace("finews", role)
            subprocess.run(shlex.split(command), check=True, capture_output=True)
        else:
            sql = f"CREATE ROLE {role} LOGIN" if "createuser" in command else f"CREATE DATABASE {role} OWNER {role}"
            subprocess.run(["psql", url_of.format(user=admin["USER"], database="postgres"), "-c", sql], check=True)

    for step in role_steps:
        run(step)

    def drop():
        admin_url = url_of.format(user=admin["USER"], database="postgres")
        for sql in (f"DROP DATABASE IF EXISTS {role} WITH (FORCE)", f"DROP ROLE IF EXISTS {role}"):
            subprocess.run(["psql", admin_url, "-c", sql], capture_output=True)

    return url_of.format(user=role, database=role), drop


def _has_user(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class Stack:
    """The host, running: gunicorn, the watcher, Varnish and nginx from deploy/'s files."""

    def __init__(self, host):
        self.host = host

    def request(self, method, path, port, source=READER, headers=None, body=None, tls=False, chunked=False, timeout=20):
        """A request to 127.0.0.1:``port`` sent from ``source``: (status, headers, body text)."""
        if tls:
            context = ssl.create_default_context(cafile=str(self.host.certificate))
            context.check_hostname = False  # the certificate names the site; the test connects to 127.0.0.1
            connection = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=timeout, context=context, source_address=(source, 0)
            )
        else:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
        try:
            headers = {"Host": SITE, **(headers or {})}
            if chunked:
                connection.request(
                    method, path, body=iter([body[:1000], body[1000:]]), headers=headers, encode_chunked=True
                )
            else:
                connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def through_nginx(self, method, path, **options):
        return self.request(method, path, self.host.ports[443], tls=True, **options)

    def manage(self, *args, **extra_environment):
        """The running release's deploy/manage, as the README runs it, with this host's environment file."""
        return subprocess.run(
            ["bash", "deploy/manage", *args],
            cwd=self.host.current,
            env={**self.host.site_user_environment(), **extra_environment},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def perform(self, step):
        """One step of the README's upgrade, as its systemd units and runuser would run it."""
        if step.startswith("runuser -u finews -- "):
            self.host.as_site_user(step)
        elif step.startswith("systemctl restart "):
            for unit in step.split()[2:]:
                self.services[f"{unit}.service"].restart()
        elif step == "systemctl reload varnish":
            self.reload_varnish()
        else:
            raise AssertionError(f"a step this test does not know how to run: {step}")

    def reload_varnish(self):
        """Debian's `systemctl reload varnish` (varnishreload): the VCL file loaded again, and used."""
        self.host.write_vcl(self.host.current / "deploy")
        self.vcl_loads = getattr(self, "vcl_loads", 0) + 1
        name = f"reload_{self.vcl_loads}"
        for command in (["vcl.load", name, str(self.host.paths["/srv/finews/current/deploy/varnish/finews.vcl"])],
                        ["vcl.use", name]):  # fmt: skip
            subprocess.run([varnishadm(), "-n", str(self.varnish_workdir), *command], check=True, capture_output=True)

    def shows_within(self, path, text, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status, _, body = self.through_nginx("GET", path)
            if status == 200 and text in body:
                return True
            time.sleep(0.2)
        return False


@contextlib.contextmanager
def host_folder():
    """A folder for a Host, which Varnish's compiler (Debian's vcache user) can read: pytest's own
    temporary folders are private to their user."""
    folder = Path(tempfile.mkdtemp(prefix="finews-host-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def varnishadm():
    return shutil.which("varnishadm") or "/usr/bin/varnishadm"


def commit_this_checkout(repository, message):
    """This checkout's files (those git does not ignore), as they are now, committed in ``repository``
    (made if need be): what the README's /srv/finews/repo is cloned from."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=BASE_DIR,
        capture_output=True,
        check=True,
    ).stdout
    for name in tracked.decode().split("\0"):
        if name and (BASE_DIR / name).exists():
            (repository / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(BASE_DIR / name, repository / name)
    return commit(repository, message)


def commit(repository, message):
    """Everything in ``repository`` committed; the commit's hash."""
    git = ["git", "-C", str(repository), "-c", "user.name=finews", "-c", "user.email=finews@example.com"]
    if not (repository / ".git").exists():
        subprocess.run([*git, "init", "--quiet", "--initial-branch=main"], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", message], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


def clone_the_site(host):
    """/srv/finews/repo, cloned from a repository of this checkout's files (Host.upstream), and the
    virtualenv of its requirements: this test run's own, where deploy/release would make it."""
    host.upstream = host.folder / "upstream"
    host.upstream.mkdir()
    commit_this_checkout(host.upstream, "release 1")
    site = host.paths["/srv/finews"]
    subprocess.run(["git", "clone", "--quiet", str(host.upstream), str(site / "repo")], check=True)
    venv = site / "venvs" / hashlib.sha256((BASE_DIR / "requirements.txt").read_bytes()).hexdigest()[:16]
    venv.parent.mkdir()
    venv.symlink_to((BASE_DIR / ".venv").resolve())
    venv.with_name(f"{venv.name}.installed").touch()


@pytest.fixture(scope="module")
def stack():
    nginx = required("nginx")
    required("varnishd")
    with host_folder() as folder:
        yield from _running_stack(nginx, Host(folder))


def _running_stack(nginx, host):
    database_url, drop_database = database_for_the_host(f"finews_deploy_{os.getpid()}")
    try:
        host.write_files(
            database_url,
            REDIS_URL=redis.worker_url(),
            TRUSTED_PROXIES=f"127.0.0.1,::1,{BALANCER}",  # the third layout's balancer, named as the README says
        )
        subprocess.run(["redis-cli", "-u", redis.worker_url(), "flushdb"], check=True, capture_output=True)
        stack = Stack(host)
        clone_the_site(host)
        (release,) = [step for step in production_steps() if "/deploy/release" in step]
        assert release == "runuser -u finews -- bash /srv/finews/repo/deploy/release"
        host.as_site_user(release)
        for post in (BASE_DIR / "sample_posts" / "_posts").iterdir():
            shutil.copy(post, host.paths["/srv/scraper/_posts"])
        host.write_vcl(host.current / "deploy")
        varnish_workdir = host.folder / "varnish"
        main_conf, error_log = host.nginx_configuration(host.nginx_site())
        stack.services = {
            "finews-web.service": Service(host, "finews-web.service", ready=f"http://127.0.0.1:{host.ports[8000]}"),
            "finews-import.service": Service(host, "finews-import.service"),
        }
        with contextlib.ExitStack() as services:
            for service in stack.services.values():
                service.start()
                services.callback(service.close)
            services.enter_context(
                running(host.varnish_command(varnish_workdir), "varnishd", ready=f"http://127.0.0.1:{host.ports[6081]}")
            )
            services.enter_context(
                running([nginx, "-c", str(main_conf), "-e", str(error_log)], "nginx", ready=host.ports[443])
            )
            stack.varnish_workdir, stack.nginx = varnish_workdir, nginx
            assert stack.shows_within("/", SAMPLE_TITLE, seconds=60), "the watcher imported the scraper's posts"
            yield stack
    finally:
        drop_database()


class TestDeployFiles:
    """Each file of deploy/ passes its own tool's check, as this host has it."""

    @pytest.fixture
    def host(self):
        with host_folder() as folder:
            host = Host(folder)
            host.current.parent.mkdir()
            host.current.symlink_to(BASE_DIR)  # a release: this checkout
            host.write_files("postgres:///finews")
            yield host

    def test_the_nginx_site(self, host):
        main, error_log = host.nginx_configuration(host.nginx_site())
        result = subprocess.run(
            [required("nginx"), "-t", "-c", str(main), "-e", str(error_log)], capture_output=True, text=True
        )
        assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr

    def test_the_vcl(self, host):
        vcl = host.paths["/srv/finews/current/deploy/varnish/finews.vcl"]
        result = subprocess.run(
            [required("varnishd"), "-C", "-f", str(vcl), "-n", str(host.folder / "varnish")],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr

    def test_the_systemd_units(self, host):
        folder = host.folder / "units"
        folder.mkdir()
        for unit in (DEPLOY / "systemd").iterdir():
            (folder / unit.name).write_text(host.render(unit.read_text()))
        drop_in = host.render((DEPLOY / "varnish" / "varnish.service.d" / "finews.conf").read_text())
        assert "ExecStart=\nExecStart=/usr/sbin/varnishd" in drop_in
        units = sorted(str(path) for path in folder.iterdir())
        result = subprocess.run(
            [required("systemd-analyze"), "verify", "--man=no", *units], capture_output=True, text=True, cwd=folder
        )
        # systemd-analyze exits 0 on unknown keys and bad values, and says so: nothing may be said.
        assert result.returncode == 0 and result.stderr.strip() == "", result.stderr

    def test_the_readme_names_what_deploy_holds(self):
        steps = "\n".join(production_steps() + upgrade_steps())
        named = re.findall(r"/srv/finews/(?:repo|current)/(deploy/[\w./-]+)", steps)
        assert "deploy/release" in named and "deploy/manage" in named
        for path in named:
            assert (BASE_DIR / path.rstrip("*").rstrip("/")).exists(), path
        (enable,) = [step for step in production_steps() if step.startswith("systemctl enable --now")]
        started = set(enable.split()[3:])
        installed = {
            path.name.removesuffix(".service")
            for path in (DEPLOY / "systemd").iterdir()
            if "[Install]" in path.read_text()
        }
        assert started == installed
        assert unit_setting(DEPLOY / "systemd" / "finews-web.socket", "ListenStream") == documented_scrape_target()

    def test_the_restored_copy_s_environment_as_the_readme_writes_it(self, host):
        """Backups, on the host of deploy/: the restored copy's environment file is the site's with
        a database, a Redis database and no Varnish of its own (it was a comment to act on by hand)."""
        (block,) = [block for block in code_blocks(readme_section("Production"), "sh") if "restored.env" in block]
        steps = [host.render(step).replace(" -o finews ", " ") for step in steps_of(block)]
        subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(steps[1:3])], check=True, capture_output=True)
        site = host.paths["/etc/finews/finews.env"].read_text().splitlines()
        restored = host.paths["/etc/finews/restored.env"]
        assert restored.stat().st_mode & 0o777 == 0o600
        changed = dict(pair for pair in zip(site, restored.read_text().splitlines(), strict=True) if pair[0] != pair[1])
        assert sorted(changed.values()) == [
            "DATABASE_URL=postgres:///finews_restored",
            "FRONT_CACHE_URLS=",
            "REDIS_URL=redis://127.0.0.1:6379/1",
        ]

    def test_the_readme_runs_git_in_the_repository_as_its_owner(self):
        """The repository belongs to finews; git run there by root (the README's operator) finds no
        repository ("dubious ownership"), and `git diff --stat ORIG_HEAD` then said "Could not
        access 'ORIG_HEAD'"."""
        section = " ".join(readme_section("Production").split())
        commands = re.findall(r"(?:runuser -u finews -- )?git -C /srv/finews/repo \w+", section)
        assert len(commands) >= 2 and {command.split()[-1] for command in commands} >= {"pull", "diff"}
        assert all(command.startswith("runuser -u finews -- ") for command in commands), commands

    def test_the_readme_makes_the_folder_the_import_watches(self):
        watcher = shlex.split(unit_setting(DEPLOY / "systemd" / "finews-import.service", "ExecStart"))
        watched = watcher[watcher.index("import_posts") + 1]
        assert f"install -d {watched}" in production_steps()

    def test_every_unit_runs_the_current_release(self):
        """Units and Varnish read the release `current` names when they start: nothing runs from the
        repository a pull changes, nor from a release folder by name."""
        units = [*(DEPLOY / "systemd").glob("*.service"), DEPLOY / "varnish" / "varnish.service.d" / "finews.conf"]
        for unit in units:
            named = re.findall(r"/srv/finews/[\w./-]*", unit.read_text())
            assert named and all(re.match(r"/srv/finews/current(/|$)", path) for path in named), (unit, named)
        steps = upgrade_steps()
        release = steps.index("runuser -u finews -- bash /srv/finews/repo/deploy/release")
        assert steps.index("systemctl reload varnish") > release
        assert steps.index("systemctl restart finews-web finews-import") > release


class TestReleases:
    """deploy/release's bookkeeping: which releases and virtualenvs it keeps. Each release is a commit
    of this checkout's deploy/release beside a deploy/manage that does nothing (the stack's upgrade
    runs the real one) and a requirements.txt; each set of requirements has its virtualenv made
    beforehand, as deploy/release leaves it, so that nothing is installed."""

    @pytest.fixture
    def site(self, tmp_path):
        site = tmp_path / "finews"
        (site / "repo" / "deploy").mkdir(parents=True)
        shutil.copy(DEPLOY / "release", site / "repo" / "deploy" / "release")
        (site / "repo" / "deploy" / "manage").write_text("#!/usr/bin/env bash\n")
        return site

    def commit_requiring(self, site, requirements):
        """A commit of the site's repository whose requirements.txt is ``requirements``; its hash."""
        (site / "repo" / "requirements.txt").write_text(requirements)
        with (site / "repo" / "commits.txt").open("a") as commits:  # a commit even if requirements are the same
            commits.write("one more\n")
        return commit(site / "repo", f"requiring {requirements.strip()}")

    def venv_name(self, requirements):
        return hashlib.sha256(requirements.encode()).hexdigest()[:16]

    def release(self, site, commit):
        """deploy/release of ``commit``, its virtualenv made first if there is none."""
        requirements = subprocess.run(
            ["git", "-C", str(site / "repo"), "show", f"{commit}:requirements.txt"], capture_output=True, text=True
        ).stdout
        venv = site / "venvs" / self.venv_name(requirements)
        if not venv.exists():
            venv.mkdir(parents=True)
            venv.with_name(f"{venv.name}.installed").touch()
        result = subprocess.run(
            ["bash", str(site / "repo" / "deploy" / "release"), commit], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert (site / "current").resolve() == site / "releases" / commit

    def kept(self, site):
        """(the releases kept, the virtualenvs kept by the requirements they were made for)."""
        names = {self.venv_name(requirements): requirements for requirements in ("a\n", "b\n", "c\n", "d\n")}
        venvs = sorted(path.name for path in (site / "venvs").iterdir())
        installed = [name for name in venvs if not name.endswith(".installed")]
        assert venvs == sorted([*installed, *(f"{name}.installed" for name in installed)]), venvs
        return {path.name for path in (site / "releases").iterdir()}, {names[name].strip() for name in installed}

    def test_the_newest_three_releases_are_kept_with_their_virtualenvs(self, site):
        first, second, third = (self.commit_requiring(site, f"{name}\n") for name in ("a", "b", "b"))
        fourth, fifth = (self.commit_requiring(site, f"{name}\n") for name in ("c", "d"))
        (site / "venvs" / "0123456789abcdef").mkdir(parents=True)  # a virtualenv whose install was interrupted
        for commit in (first, second, third, fourth):
            self.release(site, commit)
        assert self.kept(site) == ({second, third, fourth}, {"b", "c"})
        self.release(site, fifth)
        assert self.kept(site) == ({third, fourth, fifth}, {"b", "c", "d"})

        # Going back to a release kept, then to one removed: it is made again; the newest three stay.
        self.release(site, third)
        assert self.kept(site) == ({third, fourth, fifth}, {"b", "c", "d"})
        self.release(site, second)
        assert self.kept(site) == ({second, third, fifth}, {"b", "d"})


def test_pages_come_through_nginx_and_varnish(stack):
    status, headers, body = stack.through_nginx("GET", "/")
    assert status == 200 and SAMPLE_TITLE in body
    assert stack.through_nginx("GET", "/")[1]["X-Cache"] == "HIT"
    status, headers, _ = stack.request("GET", "/category/", stack.host.ports[80])
    assert status == 301 and headers["Location"] == f"https://{SITE}/category/"


def test_certbot_s_renewals_are_answered_over_plain_http(stack):
    """certbot certonly --webroot -w /var/www/html, as the README says: the challenge file it writes
    there is served on port 80; everything else there is still redirected."""
    challenge = stack.host.paths["/var/www/html"] / ".well-known" / "acme-challenge" / "token-1"
    challenge.parent.mkdir(parents=True)
    challenge.write_text("token-1.thumbprint")
    status, _, body = stack.request("GET", "/.well-known/acme-challenge/token-1", stack.host.ports[80])
    assert status == 200 and body == "token-1.thumbprint"
    status, headers, _ = stack.request("GET", "/.well-known/other", stack.host.ports[80])
    assert status == 301 and headers["Location"] == f"https://{SITE}/.well-known/other"


def test_varnish_s_probe_finds_finews_healthy(stack):
    """The probe names 127.0.0.1 as its Host, which ALLOWED_HOSTS does not hold: it was answered 400."""
    time.sleep(8)  # three failed probes, two seconds apart, would make it sick
    listing = subprocess.run(
        [varnishadm(), "-n", str(stack.varnish_workdir), "backend.list", "-p"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "healthy" in listing.lower() and "sick" not in listing.lower(), listing
    assert stack.through_nginx("GET", "/archive/")[0] == 200


def test_metrics_are_refused_to_a_reader_through_every_hop(stack):
    ports = stack.host.ports
    assert stack.through_nginx("GET", "/metrics")[0] == 404
    assert stack.through_nginx("GET", "/metrics", headers={"X-Forwarded-For": "127.0.0.1"})[0] == 404
    assert stack.request("GET", "/metrics", ports[6081])[0] == 404  # Varnish, were it reachable
    assert stack.request("GET", "/metrics", ports[8000])[0] == 404  # gunicorn, were it reachable
    # From this host itself, through every hop: allowed.
    assert stack.through_nginx("GET", "/metrics", source="127.0.0.1")[0] == 200


def test_the_documented_scrape_target_answers(stack):
    target = documented_scrape_target()
    address, port = target.rsplit(":", 1)
    status, _, body = stack.request("GET", "/metrics", stack.host.port(port), source=address, headers={"Host": target})
    assert status == 200
    published = re.search(r"^finews_articles_published (\S+)$", body, re.MULTILINE)
    assert published and float(published[1]) > 0


def test_login_throttling_tells_readers_apart_through_every_hop(stack):
    created = stack.manage(
        "createsuperuser", "--no-input", "--username", "chief", "--email", "chief@example.com",
        DJANGO_SUPERUSER_PASSWORD="the-right-passphrase-9",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr

    def log_in(source, password):
        status, headers, page = stack.through_nginx("GET", "/admin/login/", source=source)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"])[1]
        form = urllib.parse.urlencode({"username": "chief", "password": password, "csrfmiddlewaretoken": token})
        return stack.through_nginx(
            "POST",
            "/admin/login/?next=/admin/",
            source=source,
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookie}",
                "Referer": f"https://{SITE}/admin/login/",
            },
        )[0]

    # Five wrong passwords for a user from one address lock that login (AXES_FAILURE_LIMIT).
    assert [log_in(READER, "wrong") for _ in range(5)] == [200, 200, 200, 200, 429]
    assert log_in(READER, "the-right-passphrase-9") == 429
    assert log_in(OTHER_READER, "the-right-passphrase-9") == 302


def test_a_post_the_scraper_writes_shows_through_every_hop(stack):
    folder = stack.host.paths["/srv/scraper/_posts"]
    (folder / "2026-11-30-NWDEPLOY1.md").write_text(post_text(title='"部署测试：新到的消息"'), encoding="utf-8")
    assert stack.shows_within("/", "部署测试：新到的消息", seconds=15)


def test_a_chunked_push_is_read_whole_by_gunicorn_and_through_nginx(stack):
    created = stack.manage("ingest_token", "create", "deploy-scraper")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    # Straight to gunicorn (as a proxy would hand it on, after TLS), and through nginx and Varnish.
    for number, (port, tls) in enumerate([(stack.host.ports[8000], False), (stack.host.ports[443], True)]):
        info_code = f"NWCHUNK{number}"
        body = post_text(title=f'"分块推送的消息{number}"', body="<p>" + "正文" * 2000 + "</p>").encode()
        status, _, answer = stack.request(
            "POST",
            f"/api/v1/posts/?name=2026-11-30-{info_code}.md",
            port,
            tls=tls,
            body=body,
            chunked=True,
            headers={
                "Authorization": f"Bearer {secret}",
                "Content-Type": "application/octet-stream",
                "X-Forwarded-Proto": "https",
            },
        )
        assert status == 201 and json.loads(answer)["info_code"] == info_code, answer
    assert stack.shows_within("/", "分块推送的消息1", seconds=5)


def test_nginx_straight_to_gunicorn(stack):
    """The first layout: the same nginx site with gunicorn as its upstream, no Varnish."""
    site_conf = (
        stack.host.paths["/etc/nginx/sites-enabled/finews"]
        .read_text()
        .replace("server 127.0.0.1:6081;", "server 127.0.0.1:8000;")
    )
    other = Host(stack.host.folder)  # ports of its own for nginx; the running host's gunicorn and certificate
    other.paths, other.ports[8000] = stack.host.paths, stack.host.ports[8000]
    main, error_log = other.nginx_configuration(other.render(site_conf), name="nginx-straight")
    with running([stack.nginx, "-c", str(main), "-e", str(error_log)], "nginx", ready=other.ports[443]):
        direct = Stack(stack.host)
        assert direct.request("GET", "/", other.ports[443], tls=True)[0] == 200
        assert direct.request("GET", "/metrics", other.ports[443], tls=True)[0] == 404
        assert direct.request("GET", "/metrics", other.ports[443], tls=True, source="127.0.0.1")[0] == 200


def test_a_load_balancer_in_front(stack):
    """The third layout: a balancer (here nginx on 127.0.0.2) in front of the site's nginx, named in
    TRUSTED_PROXIES: readers keep their own addresses through four hops."""
    port = free_port()
    balancer_conf = (
        f"server {{\n    listen {BALANCER}:{port};\n    location / {{\n"
        f"        proxy_pass https://127.0.0.1:{stack.host.ports[443]};\n        proxy_bind {BALANCER};\n"
        "        proxy_set_header Host $host;\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "    }\n}\n"
    )
    main, error_log = stack.host.nginx_configuration(balancer_conf, name="balancer")
    with running([stack.nginx, "-c", str(main), "-e", str(error_log)], "the balancer"):
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((BALANCER, port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, error_log.read_text()
                time.sleep(0.05)

        def get(path, source):
            connection = http.client.HTTPConnection(BALANCER, port, timeout=20, source_address=(source, 0))
            try:
                connection.request("GET", path, headers={"Host": SITE})
                return connection.getresponse().status
            finally:
                connection.close()

        assert get("/", READER) == 200
        assert get("/metrics", READER) == 404
        assert get("/metrics", "127.0.0.1") == 200


class Reader(threading.Thread):
    """A reader asking for pages while an upgrade runs: through nginx and Varnish (kept pages, and
    passed ones: a session cookie), and straight to gunicorn; every answer's status is kept."""

    PATHS = ["/", "/archive/", "/robots.txt"]

    def __init__(self, stack):
        super().__init__(daemon=True)
        self.stack, self.answers, self.done = (
            stack,
            [],
            threading.Event(),
        )  # answers: (how, path, status, asked, answered)

    def ask(self, how, path):
        """One request, ``how``: "kept", "passed" or "gunicorn"; its status, or the error."""
        if how == "gunicorn":
            port, options = self.stack.host.ports[8000], {"headers": {"X-Forwarded-Proto": "https"}}
        else:
            port, options = self.stack.host.ports[443], {"tls": True}
            if how == "passed":
                options["headers"] = {"Cookie": "sessionid=x"}
        try:
            return self.stack.request("GET", path, port, timeout=60, **options)[0]
        except OSError as error:
            return repr(error)

    def run(self):
        while not self.done.is_set():
            for path in self.PATHS:
                for how in ("kept", "passed", "gunicorn"):
                    asked = time.monotonic()
                    status = self.ask(how, path)
                    self.answers.append((how, path, status, asked, time.monotonic()))


def test_an_upgrade_as_the_readme_says_answers_every_request_and_can_go_back(stack):
    """The README's upgrade, as written, to a release that changes a template's text and the name
    a module imports from another (an old worker loading those files from an updated checkout can
    answer 500), while a reader keeps asking for pages: every answer is a 200, and the new text is
    served afterwards; going back serves the old text again. The former upgrade (a pull in place,
    then gunicorn's HUP) failed here: one or two of about 800 answers were 503, Varnish's probe
    having found finews down while its workers reloaded. Last in the file: it restarts the stack."""
    host = stack.host
    footer = host.upstream / "templates" / "base.html"
    footer.write_text(footer.read_text().replace("RSS 订阅", "RSS 订阅（第二版）"))
    roles = host.upstream / "articles" / "roles.py"
    roles.write_text(roles.read_text().replace("def person_name(", "def display_name("))
    importers = [
        path for path in (host.upstream / "articles").rglob("*.py") if "roles import person_name" in path.read_text()
    ]
    assert len(importers) >= 3 and any(path.parent.name == "templatetags" for path in importers)
    for module in importers:
        text = re.sub(
            r"roles import person_name\b(?! as)", "roles import display_name as person_name", module.read_text()
        )
        module.write_text(text.replace("roles import person_name as", "roles import display_name as"))
    second = commit(host.upstream, "release 2")
    first = host.current.resolve()

    reader = Reader(stack)
    reader.start()
    time.sleep(2)
    try:
        for step in upgrade_steps():
            stack.perform(step)
        time.sleep(2)
    finally:
        reader.done.set()
        reader.join(timeout=120)

    restarts = stack.services["finews-web.service"].down
    failed = [(how, path, status) for how, path, status, _, _ in reader.answers if status != 200]
    assert not failed, (
        f"{len(failed)} of {len(reader.answers)} answers were not 200 (finews-web's restarts, seconds to stop and "
        f"to answer again: {[(round(e - s, 1), round(a - e, 1)) for s, e, a in restarts]}): {failed[:20]}"
    )
    ((stopped, exited, started),) = restarts
    # A request in flight while no gunicorn ran, answered 200 all the same: the socket kept it.
    assert any(how != "kept" and asked < started and answered > exited for how, _, _, asked, answered in reader.answers)
    assert host.current.resolve() == host.paths["/srv/finews"] / "releases" / second
    assert first.exists() and "第二版" not in (first / "templates" / "base.html").read_text()
    assert "RSS 订阅（第二版）" in stack.through_nginx("GET", "/")[2]
    status, _, page = stack.request("GET", "/archive/", host.ports[8000], headers={"X-Forwarded-Proto": "https"})
    assert status == 200 and "RSS 订阅（第二版）" in page

    # Going back, as the README says: the first release, kept, is switched to again as it is.
    ((going_back, then),) = re.findall(
        r"`(runuser -u finews -- bash \S+/deploy/release) COMMIT`.*?then the upgrade's last (\w+) steps",
        readme_section("Production"),
        re.DOTALL,
    )
    host.as_site_user(f"{going_back} {first.name}")
    assert host.current.resolve() == first
    for step in upgrade_steps()[-["one", "two", "three"].index(then) - 1 :]:
        stack.perform(step)
    status, _, page = stack.request("GET", "/archive/", host.ports[8000], headers={"X-Forwarded-Proto": "https"})
    assert status == 200 and "RSS 订阅" in page and "第二版" not in page
