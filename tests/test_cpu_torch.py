"""`./course setup --cpu` installs the pinned PyTorch from PyTorch's CPU index, and only once; `--gpu` puts the
default build back over a CPU build installed before.

PyTorch's own index is not reachable from the machines that test the course, so the tests serve a package
index of the same shape on 127.0.0.1, holding a stand-in `torch-<pin>+cpu` wheel, and point the command at it
with TORCH_CPU_INDEX. They check what the option decides: the index it asks, the version it asks for, the
build it leaves installed, and that a second run asks nothing.
"""

import base64
import functools
import hashlib
import os
import subprocess
import sys
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = next(line.split()[0] for line in (ROOT / "requirements.txt").read_text().splitlines()
           if line.startswith("torch=="))
CPU_VERSION = PIN.split("==")[1] + "+cpu"


def record_line(name: str, content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(content)}"


def stand_in_wheel(folder: Path, version: str = CPU_VERSION) -> Path:
    """A wheel named and versioned as a PyTorch build (the CPU one unless told), holding only ``torch.__version__``."""
    info = f"torch-{version}.dist-info"
    files = {
        "torch/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "\n".join([record_line(name, content) for name, content in files.items()] + [f"{info}/RECORD,,", ""])
    path = folder / f"torch-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, content in files.items():
            wheel.writestr(name, content)
        wheel.writestr(f"{info}/RECORD", record)
    return path


@pytest.fixture
def cpu_index(tmp_path: Path):
    """A PEP 503 index on 127.0.0.1 with the stand-in CPU wheel; yields (its URL, the paths asked for)."""
    yield from serving_index(tmp_path / "index", CPU_VERSION)


@pytest.fixture
def default_index(tmp_path: Path):
    """The package index's stand-in: the pin's default build; yields (its URL, the paths asked for)."""
    yield from serving_index(tmp_path / "default-index", PIN.split("==")[1])


def serving_index(root: Path, version: str):
    (root / "simple" / "torch").mkdir(parents=True)
    wheel = stand_in_wheel(root, version)
    (root / "simple" / "torch" / "index.html").write_text(
        f'<a href="../../{wheel.name.replace("+", "%2B")}">{wheel.name}</a>\n')
    asked: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            asked.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/simple", asked
    server.shutdown()
    server.server_close()


@pytest.fixture
def set_up_venv(tmp_path: Path) -> Path:
    """A new environment whose pin stamp is current, so that `setup` does nothing after the PyTorch step."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    digest = subprocess.run("cat requirements.txt requirements-weights.txt constraints.txt pyproject.toml | cksum",
                            shell=True, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    (venv / ".course-pins").write_text(digest)
    return venv


def setup_cpu(venv: Path, index: str, *options: str, driver: Path = Path("/no/nvidia/driver"),
              package_index: str = "http://127.0.0.1:9/simple") -> subprocess.CompletedProcess:
    # without the machine's pip settings, which may add indexes or folders of wheels (a real PyTorch among them)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")} | {
        "PIP_INDEX_URL": package_index,
        "COURSE_VENV": str(venv), "TORCH_CPU_INDEX": index, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1",
        "PIP_RETRIES": "0", "no_proxy": "127.0.0.1", "COURSE_NVIDIA_PROBE": str(driver),
        "PATH": ":".join(folder for folder in os.environ["PATH"].split(":")
                         if not (Path(folder) / "nvidia-smi").exists())}
    return subprocess.run([str(ROOT / "course"), "setup", *(options or ["--cpu"])], capture_output=True, text=True,
                          timeout=300, env=environment)


def installed_torch(venv: Path) -> str:
    return subprocess.run([str(venv / "bin" / "python"), "-c", "import torch; print(torch.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.slow
def test_setup_cpu_installs_the_pinned_version_from_the_cpu_index_once(set_up_venv, cpu_index):
    index, asked = cpu_index
    done = setup_cpu(set_up_venv, index)
    assert done.returncode == 0, done.stderr
    assert installed_torch(set_up_venv) == CPU_VERSION
    assert "/simple/torch/" in asked and f"CPU build ({PIN})" in done.stderr

    asked.clear()
    again = setup_cpu(set_up_venv, index)
    assert again.returncode == 0 and asked == []  # the CPU build is there already


@pytest.mark.slow
def test_an_unreachable_cpu_index_fails_a_setup_that_asked_for_the_cpu_build(set_up_venv):
    done = setup_cpu(set_up_venv, "http://127.0.0.1:9/simple")  # the discard port: nothing listens
    assert done.returncode != 0
    assert "from http://127.0.0.1:9/simple" in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the choice is Linux's: macOS's default build is the CPU one")
def test_setup_chooses_the_cpu_build_without_an_nvidia_driver_and_says_why(set_up_venv, cpu_index):
    index, asked = cpu_index
    done = setup_cpu(set_up_venv, index, "")
    assert done.returncode == 0, done.stderr
    assert "PyTorch: the CPU build (no NVIDIA driver here; ./course setup --gpu for the CUDA build)." in done.stderr
    assert installed_torch(set_up_venv) == CPU_VERSION and "/simple/torch/" in asked
    assert f"Set up: {set_up_venv} takes " in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the choice is Linux's: macOS's default build is the CPU one")
def test_an_unreachable_cpu_index_leaves_the_chosen_setup_on_the_default_build_and_says_so(set_up_venv):
    done = setup_cpu(set_up_venv, "http://127.0.0.1:9/simple", "")
    assert done.returncode == 0, done.stderr
    assert ("PyTorch: http://127.0.0.1:9/simple did not answer, so the default build instead, from the package "
            "index (several GB more); ./course setup --cpu tries the CPU build again.") in done.stderr
    assert f"Set up: {set_up_venv} takes " in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the choice is Linux's: macOS's default build is the CPU one")
@pytest.mark.parametrize("options", [[""], ["--gpu"]], ids=["a driver present", "--gpu"])
def test_setup_keeps_the_default_build_with_a_driver_or_gpu(set_up_venv, cpu_index, tmp_path, options):
    index, asked = cpu_index
    driver = tmp_path / "nvidia-version"
    driver.write_text("NVRM version: a stand-in")
    done = setup_cpu(set_up_venv, index, *options, driver=driver if options == [""] else Path("/no/driver"))
    assert done.returncode == 0, done.stderr
    assert "PyTorch: the default build, with CUDA" in done.stderr and asked == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the choice is Linux's: macOS's default build is the CPU one")
def test_setup_gpu_replaces_a_cpu_build_installed_before_and_only_that(set_up_venv, cpu_index, default_index):
    assert setup_cpu(set_up_venv, cpu_index[0]).returncode == 0 and installed_torch(set_up_venv) == CPU_VERSION
    index, asked = default_index
    done = setup_cpu(set_up_venv, cpu_index[0], "--gpu", package_index=index)
    assert done.returncode == 0, done.stderr
    assert installed_torch(set_up_venv) == PIN.split("==")[1] and "/simple/torch/" in asked
    assert "replacing the CPU build installed before with the default build" in done.stderr
    asked.clear()
    again = setup_cpu(set_up_venv, cpu_index[0], "--gpu", package_index=index)
    assert again.returncode == 0 and asked == [] and "replacing" not in again.stderr  # the default build is there


def test_setup_refuses_an_unknown_option(set_up_venv):
    done = setup_cpu(set_up_venv, "http://127.0.0.1:9/simple", "--cuda")
    assert done.returncode == 2 and done.stderr.strip() == "./course setup: unknown option '--cuda' (--cpu or --gpu)."
