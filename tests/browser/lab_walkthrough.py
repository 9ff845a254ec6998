"""The JupyterLab walkthrough in a real browser: ``make test-browser``.

Starts JupyterLab on 127.0.0.1 (a free port, a random token, the project's
shipped Lab settings from ``.jupyter/``) and drives headless Chromium through
every numbered notebook in order, the way a reader would:

1. double-click ``notebooks/NN_name.py`` in the file browser; it must open as a
   notebook (the shipped default viewer), and its tab should not show
   "modified" before anything was done. JupyterLab stores the kernel's
   ``language_info`` in the notebook when the kernel connects, and the
   committed notebooks carry none, so that one cause is reported as a note;
   any other change on opening fails;
2. edit the ``parameters`` cell: ``params_file = "params/smoke.yaml"``, paths
   under ``build/browser/`` so that the walkthrough leaves the reader's
   ``runs/``, ``figures/`` and ``data/processed/`` alone, and 05 compares the
   run that 03 trained and 04 scored;
3. Run > Run All Cells and wait until every cell ran and the kernel is idle;
4. fail on an error output, a cell left unexecuted, a ``PosixPath(...)`` echo,
   and a cell that saves a figure without an image rendered below it; in 04,
   move the explorer's modality dropdown and check that the explorer's figure
   is redrawn. Notes (not failures) list stderr output and long text outputs;
   cells are numbered as in Lab's status bar (markdown included);
5. save a screenshot of the whole notebook as ``figures/browser/NN_name.png``.

The notebook files are never saved (autosave is off in the test's own user
settings) and are checked unchanged at the end. The server, its kernels and
the browser are shut down whatever happens. Stops at the first notebook that
fails, since each one reads what the previous ones wrote.

This is a script rather than a pytest module so that ``make test`` (pytest
over ``tests/``) never collects it: it needs Chromium and a few minutes.

    python tests/browser/lab_walkthrough.py [--only 01 03] [--timeout 600] [--params FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    raise SystemExit("Playwright is missing: pip install -e '.[browser]' (make test-browser does)") from None

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SHOTS = ROOT / "figures" / "browser"
WORK = "build/browser"  # relative to ROOT: runs, figures and prepared windows of the walkthrough
SMOKE_PARAMS = "params/smoke.yaml"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
MAX_SHOT_HEIGHT = 30000

# User settings for the test only, layered over the shipped defaults: never write the notebooks,
# keep every cell in the page (so that outputs can be checked), no news pop-up.
TEST_USER_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class WalkthroughError(AssertionError):
    """A notebook did not behave as a reader would expect."""


# ---------------------------------------------------------------- the server


@dataclass
class LabServer:
    """A JupyterLab server in its own process group, with private settings, workspaces and runtime dirs."""

    scratch: Path
    port: int = 0
    token: str = ""
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.scratch / "lab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        settings, workspaces, runtime = (self.scratch / name for name in ("settings", "workspaces", "runtime"))
        for path, content in TEST_USER_SETTINGS.items():
            target = settings / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(content))
        workspaces.mkdir(parents=True, exist_ok=True)
        runtime.mkdir(parents=True, exist_ok=True)
        self.port, self.token = free_port(), secrets.token_hex(24)
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_PATH=os.pathsep.join(filter(None, [str(ROOT / ".jupyter"), env.get("JUPYTER_CONFIG_PATH")])),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
            JUPYTER_RUNTIME_DIR=str(runtime),
        )
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={ROOT}",
            # lets the test read the notebook model (dirty state, outputs) besides the page itself
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        log(f"starting JupyterLab on {self.url} (log: {self.log_path})")
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, timeout: float = 10) -> object:
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kernel_pids(self) -> list[int]:
        """Kernels of this server: processes whose command line names a connection file in its runtime dir."""
        runtime = str(self.scratch / "runtime")
        pids = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(arg.decode(errors="replace").startswith(runtime) for arg in args):
                pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        """Shut down the kernels and the server; signal the process group, then leftover kernels, if needed."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                for kernel in self.api("GET", "/api/kernels"):
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)
                self.api("POST", "/api/shutdown")
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired, ValueError) as error:
                log(f"clean shutdown failed ({error}); terminating the server's process group")
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=wait)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for pid in self.kernel_pids():
            log(f"kernel process {pid} outlived the server; terminating it")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log("JupyterLab stopped")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium() -> str:
    candidates = [os.environ.get("CHROMIUM", ""), "/usr/bin/chromium", *(shutil.which(name) or "" for name in (
        "chromium", "chromium-browser", "google-chrome"))]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("no Chromium found: install it (Debian: apt-get install chromium) or set CHROMIUM=/path/to/chrome")


# ---------------------------------------------------------------- parameters


def parameters_cell(notebook: Path) -> tuple[int, str]:
    """Index among the code cells, and source, of the cell tagged ``parameters``."""
    import jupytext

    code_cells = [cell for cell in jupytext.read(notebook).cells if cell.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        if "parameters" in cell.metadata.get("tags", []):
            return index, cell.source
    raise WalkthroughError(f"{notebook.name}: no code cell tagged 'parameters'")


def walkthrough_parameters(source: str, stem: str, params_file: str = SMOKE_PARAMS) -> str:
    """The parameters cell with the smoke params and every output under ``build/browser/``."""
    values = {
        "params_file": json.dumps(params_file),
        "overrides": json.dumps({"paths.runs": f"{WORK}/runs", "paths.figures": f"{WORK}/figures",
                                 "paths.processed": f"{WORK}/processed"}),
        "runs_from": json.dumps(f"{WORK}/runs"),  # 05: compare the runs of this walkthrough
    }
    lines = []
    for line in source.splitlines():
        match = re.match(r"^(\w+) = (.+?)(\s+#.*)?$", line)
        if match:
            name, value, comment = match.group(1), match.group(2), match.group(3) or ""
            if name == "overrides" and value != "{}":
                raise WalkthroughError(f"{stem}: overrides = {value} in the parameters cell; expected {{}}")
            if name in values:
                value = values[name]
            elif name == "figures_dir" and value != "None":
                value = json.dumps(f"{WORK}/figures/{stem}")
            line = f"{name} = {value}{comment}"
        lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------- the page

CURRENT = "window.jupyterapp.shell.currentWidget"

JS_STATE = f"""() => {{
  const w = {CURRENT};
  if (!w || !w.context || !w.content || !w.content.widgets) return null;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return {{path: w.context.path, ready: w.context.isReady, dirty: w.context.model.dirty,
           kernel: kernel ? kernel.status : null}};
}}"""

JS_CELLS = f"""() => {{
  const w = {CURRENT};
  return w.content.widgets.map((cell, index) => {{
    const model = cell.model;
    const outputs = model.type === 'code' ? model.outputs.toJSON() : [];
    const images = Array.from(cell.node.querySelectorAll('.jp-OutputArea-output img')).map(img => img.naturalWidth);
    return {{index, type: model.type, source: model.sharedModel.getSource(),
             count: model.type === 'code' ? model.executionCount : null,
             prompt: model.type === 'code' ? cell.node.querySelector('.jp-InputPrompt').textContent : null,
             outputs: outputs.map(o => ({{type: o.output_type, name: o.name || null, ename: o.ename || null,
                                         evalue: o.evalue || null, mime: Object.keys(o.data || {{}}),
                                         text: typeof o.text === 'string' ? o.text :
                                               (o.data && o.data['text/plain']) ? [].concat(o.data['text/plain']).join('') : ''}})),
             images}};
  }});
}}"""


@dataclass
class Outcome:
    notebook: str
    seconds: float = 0.0
    images: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Walkthrough:
    def __init__(self, server: LabServer, browser, timeout: float, params_file: str = SMOKE_PARAMS) -> None:
        self.server, self.browser, self.timeout, self.params_file = server, browser, timeout, params_file

    def run(self, notebook: Path) -> Outcome:
        outcome = Outcome(notebook.stem)
        start = time.monotonic()
        context = self.browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        try:
            self._walk(page, notebook, outcome)
        except WalkthroughError as error:
            outcome.failures.append(str(error))
        except PlaywrightError as error:  # a timeout or a page error: report it with the notebook
            outcome.failures.append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
        finally:
            try:
                self._screenshot(page, SHOTS / f"{notebook.stem}.png")
            except PlaywrightError as error:
                outcome.notes.append(f"no screenshot: {error}")
            try:
                self._shut_down_kernel(page)
            finally:
                context.close()
            outcome.seconds = time.monotonic() - start
        return outcome

    # -- steps

    def _walk(self, page, notebook: Path, outcome: Outcome) -> None:
        name, stem = notebook.name, notebook.stem
        relative = notebook.relative_to(ROOT).as_posix()
        page.goto(f"{self.server.url}/lab/workspaces/{stem}/tree/{NOTEBOOKS.relative_to(ROOT).as_posix()}"
                  f"?reset&token={self.server.token}")
        item = page.locator(".jp-DirListing-item", has=page.locator(".jp-DirListing-itemText", has_text=re.compile(
            rf"^{re.escape(name)}$")))
        item.wait_for(timeout=120_000)
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        log(f"{stem}: double-click {name} in the file browser")
        item.dblclick()
        page.wait_for_function(f"() => {{ const w = {CURRENT}; return w && w.context && w.context.path === "
                               f"{json.dumps(relative)} }}", timeout=60_000)
        if page.evaluate(f"() => !{CURRENT}.content || !{CURRENT}.content.widgets || "
                         f"!{CURRENT}.node.classList.contains('jp-NotebookPanel')"):
            raise WalkthroughError(f"{name} opened in {page.evaluate(f'() => {CURRENT}.node.className')}, "
                                   "not as a notebook: the default viewer setting did not apply")
        page.wait_for_function(f"() => {{ const s = ({JS_STATE})(); return s && s.ready && s.kernel === 'idle' }}",
                               timeout=120_000)
        page.wait_for_timeout(1000)
        self._check_clean_on_open(page, relative, outcome)

        index, source = parameters_cell(notebook)
        self._set_cell(page, index, walkthrough_parameters(source, stem, self.params_file))
        log(f"{stem}: parameters set, Run > Run All Cells")
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        self._wait_until_done(page, stem)
        cells = page.evaluate(JS_CELLS)
        self._check_cells(cells, outcome)
        if stem.startswith("04_"):
            self._check_explorer(page, outcome)

    def _check_clean_on_open(self, page, relative: str, outcome: Outcome) -> None:
        tab_dirty = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() > 0
        if not tab_dirty:
            return
        model = page.evaluate(f"() => {CURRENT}.context.model.toJSON().metadata")
        disk = self.server.api("GET", f"/api/contents/{relative}?type=notebook&content=1")["content"]["metadata"]
        added = sorted(key for key in model if key not in disk)
        changed = sorted(key for key in model if key in disk and model[key] != disk[key])
        found = f"notebook metadata the page added: {added or 'none'}, changed: {changed or 'none'}"
        if added == ["language_info"] and not changed:
            # JupyterLab writes the kernel's language_info into the notebook when the kernel connects;
            # the committed notebooks carry none, so every notebook opens 'modified'.
            outcome.notes.append(f"tab shows 'modified' right after opening: {found} (the kernel's language_info)")
        else:
            outcome.failures.append(f"tab shows 'modified' right after opening; {found}")

    def _set_cell(self, page, code_index: int, text: str) -> None:
        cell = page.locator(".jp-Notebook .jp-CodeCell").nth(code_index)
        cell.locator(".cm-content").click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.insert_text(text)
        page.keyboard.press("Escape")
        written = page.evaluate(
            f"(i) => {CURRENT}.content.widgets.filter(c => c.model.type === 'code')[i].model.sharedModel.getSource()",
            code_index)
        if written != text:
            raise WalkthroughError(f"editing the parameters cell gave {written!r}, expected {text!r}")

    def _wait_until_done(self, page, stem: str) -> None:
        deadline, calm, last_report = time.monotonic() + self.timeout, 0, 0.0
        while True:
            state = page.evaluate(JS_STATE)
            running = page.locator(".jp-Notebook .jp-InputPrompt", has_text="[*]").count()
            calm = calm + 1 if running == 0 and state and state["kernel"] == "idle" else 0
            if calm >= 3:
                return
            if time.monotonic() > deadline:
                raise WalkthroughError(f"still running after {self.timeout:.0f} s ({running} cells waiting)")
            if time.monotonic() - last_report > 30:
                done = page.locator(".jp-Notebook .jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).count()
                log(f"{stem}: {done} cells done, {running} running or queued, kernel {state and state['kernel']}")
                last_report = time.monotonic()
            page.wait_for_timeout(1000)

    def _check_cells(self, cells: list[dict], outcome: Outcome) -> None:
        not_run = []
        for cell in cells:
            if cell["type"] != "code":
                continue
            where = f"cell {cell['index'] + 1} ({first_line(cell['source'])})"
            for output in cell["outputs"]:
                if output["type"] == "error":
                    outcome.failures.append(f"{where}: {output['ename']}: {output['evalue']}")
                elif output["name"] == "stderr" and output["text"].strip():
                    outcome.notes.append(f"{where} wrote to stderr: {shorten(output['text'])}")
                text = output["text"]
                if text.startswith(("PosixPath(", "WindowsPath(")):
                    outcome.failures.append(f"{where} echoes {shorten(text)} above its output")
                elif len(text) > 3000:
                    outcome.notes.append(f"{where} prints {len(text)} characters of text")
            if cell["count"] is None:
                not_run.append(cell["index"] + 1)
            if any(width == 0 for width in cell["images"]):
                outcome.failures.append(f"{where}: an image did not load (natural width 0)")
            outcome.images += sum(width > 0 for width in cell["images"])
            if re.search(r"\bsave(_figure)?\(", cell["source"]) and cell["count"] is not None and not any(cell["images"]):
                if not cell["source"].lstrip().startswith("if "):
                    outcome.failures.append(f"{where} saves a figure but none is shown")
                else:
                    outcome.notes.append(f"{where} saves a figure under a condition and showed none")
        if not_run:
            outcome.failures.append(f"{len(not_run)} code cells did not run (Run All stops at an error): "
                                    f"cells {', '.join(map(str, not_run))}")

    def _check_explorer(self, page, outcome: Outcome) -> None:
        panel = page.locator(".jp-Notebook .widget-vbox", has=page.locator(".widget-dropdown select")).last
        if panel.count() == 0:
            outcome.failures.append("explorer: no widget panel with dropdowns rendered (widgets extension missing?)")
            return
        image = panel.locator(".widget-output img").first
        image.wait_for(timeout=60_000)
        before = image.get_attribute("src")
        dropdown = panel.locator(".widget-dropdown", has=page.locator("label", has_text="modality")).locator("select")
        if dropdown.count() != 1:
            outcome.failures.append(f"explorer: no dropdown labelled 'modality' in {shorten(panel.inner_html(), 400)}")
            return
        current = dropdown.input_value()
        choice = next(value for value in dropdown.locator("option").evaluate_all("os => os.map(o => o.value)")
                      if value != current)
        log(f"explorer: modality {current!r} -> {choice!r}")
        dropdown.select_option(value=choice)
        try:
            page.wait_for_function(
                "([panel, before]) => { const img = panel.querySelector('.widget-output img'); "
                "return img && img.getAttribute('src') !== before && img.complete && img.naturalWidth > 0 }",
                arg=[panel.element_handle(), before], timeout=60_000)
        except PlaywrightError:
            outcome.failures.append(f"explorer: the figure did not change after choosing modality {choice!r}")
            return
        outcome.notes.append(f"explorer: choosing modality {choice!r} redrew the figure")

    def _screenshot(self, page, path: Path) -> None:
        """The whole notebook: the viewport grown to the notebook's height, then put back."""
        path.parent.mkdir(parents=True, exist_ok=True)
        page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
        scroller = "document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
        height = page.evaluate(f"() => {{ const n = {scroller}; return n ? n.scrollHeight : 0 }}")
        if height:
            page.set_viewport_size({"width": VIEWPORT["width"], "height": min(MAX_SHOT_HEIGHT, height + 150)})
            page.wait_for_timeout(1500)
            page.evaluate(f"() => {{ const n = {scroller}; if (n) n.scrollTop = 0 }}")
            page.wait_for_timeout(500)
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size(VIEWPORT)
        log(f"screenshot {path.relative_to(ROOT)}")

    def _shut_down_kernel(self, page) -> None:
        """Kernel > Shut Down Kernel; the document is closed unsaved with the page."""
        try:
            if page.evaluate(f"() => !!({CURRENT} && {CURRENT}.sessionContext && {CURRENT}.sessionContext.session)"):
                page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
                page.wait_for_timeout(500)
                dialog = page.locator(".jp-Dialog button.jp-mod-accept")
                if dialog.count():
                    dialog.first.click()
                page.wait_for_function(
                    f"() => !{CURRENT}.sessionContext.session || !{CURRENT}.sessionContext.session.kernel",
                    timeout=30_000)
        except PlaywrightError as error:  # the server shutdown ends it anyway
            log(f"kernel shutdown from the page failed: {error}")


def first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip() and not line.startswith("# NBVAL")]
    return shorten(lines[0] if lines else "", 60)


def shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fingerprint(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.glob("[0-9][0-9]_*")) if path.suffix in {".py", ".ipynb"}}


# ---------------------------------------------------------------- main


def interrupt(signum: int, frame: object) -> None:
    """A SIGTERM (a CI timeout) unwinds like Ctrl-C, so that the server and its kernels are shut down."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="notebook numbers to walk through (default: all)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per notebook's Run All")
    parser.add_argument("--params", default=SMOKE_PARAMS, help="params file written into each parameters cell")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)

    notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    if args.only:
        notebooks = [nb for nb in notebooks if nb.name[:2] in set(args.only)]
    if not notebooks:
        raise SystemExit("no notebooks selected")
    shutil.rmtree(ROOT / WORK, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = fingerprint(NOTEBOOKS)
    outcomes: list[Outcome] = []
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="lab-walkthrough-"))
    server = LabServer(scratch)
    try:
        server.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
            try:
                walkthrough = Walkthrough(server, browser, args.timeout, args.params)
                for notebook in notebooks:
                    outcome = walkthrough.run(notebook)
                    outcomes.append(outcome)
                    log(f"{notebook.stem}: {'ok' if not outcome.failures else 'FAILED'} in {outcome.seconds:.0f} s, "
                        f"{outcome.images} figures")
                    if outcome.failures:
                        break
            finally:
                browser.close()
    except Exception:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    changed = sorted(name for name, digest in fingerprint(NOTEBOOKS).items() if before.get(name) != digest)
    print(f"\nJupyterLab walkthrough, {time.monotonic() - started:.0f} s in all:")
    for outcome in outcomes:
        print(f"  {outcome.notebook:<24} {'ok' if not outcome.failures else 'FAILED':<7} {outcome.seconds:5.0f} s"
              f"  {outcome.images} figures")
        for failure in outcome.failures:
            print(f"      FAIL {failure}")
        for note in outcome.notes:
            print(f"      note {note}")
    skipped = [nb.stem for nb in notebooks[len(outcomes):]]
    if skipped:
        print(f"  not walked through (an earlier notebook failed): {', '.join(skipped)}")
    if changed:
        print(f"  FAIL notebook files changed on disk during the walkthrough: {', '.join(changed)}")
    print(f"  screenshots in {SHOTS.relative_to(ROOT)}/")
    return 1 if changed or skipped or any(outcome.failures for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
