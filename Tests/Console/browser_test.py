#!/usr/bin/env python3
"""The web console in a real browser: headless Chromium through Selenium,
driving a real atomd agent. Called by EndToEndTests/ConsoleBrowserTests with
the agent's home and a one-time login link; saves a screenshot of each
scenario into --shots. Exits 0 when every scenario passed; each wait has a
time limit, and a failure prints what the page showed."""

import argparse
import http.server
import json
import pathlib
import subprocess
import sys
import threading
import traceback
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

LIMIT = 45  # seconds, for any one thing to show

# The page another local user serves on another port of 127.0.0.1: it tries
# every way a page has to reach the console with the operator's browser, and
# writes down what each gave it. Inline script is fine here: this is the
# attacker's page, not the console.
ATTACK_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>another port</title></head><body>
<h1>a page on another port</h1><pre id="out"></pre>
<script>
const params = new URLSearchParams(location.search);
const C = params.get('console'), RUN = params.get('run');
const results = {};
const errors = [];
window.addEventListener('error', (event) => errors.push(String(event.message)));
// Each element's load or error, or a note after a time limit: never hangs.
function settle(node) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('no answer within 10 s'), 10000);
    node.addEventListener('load', () => { clearTimeout(timer); resolve('load'); }, { once: true });
    node.addEventListener('error', () => { clearTimeout(timer); resolve('error'); }, { once: true });
  });
}
async function answer(response) {
  return { type: response.type, status: response.status, body: await response.text() };
}
async function attempt(name, action) {
  try { results[name] = await action(); } catch (error) { results[name] = 'threw ' + error.name; }
}
(async () => {
  await attempt('document.cookie', () => document.cookie);
  await attempt('storage', () => JSON.stringify({ session: { ...sessionStorage }, local: { ...localStorage } }));
  await attempt('fetch session', async () => answer(await fetch(C + '/api/session', { credentials: 'include' })));
  await attempt('fetch session no-cors', async () => answer(await fetch(C + '/api/session', { credentials: 'include', mode: 'no-cors' })));
  await attempt('fetch runs no-cors', async () => answer(await fetch(C + '/api/runs', { credentials: 'include', mode: 'no-cors' })));
  await attempt('pause no-cors', async () => answer(await fetch(C + `/api/runs/${RUN}/pause`,
    { method: 'POST', credentials: 'include', mode: 'no-cors', body: '{}' })));
  await attempt('cancel with a header', async () => answer(await fetch(C + `/api/runs/${RUN}/cancel`,
    { method: 'POST', credentials: 'include', headers: { Authorization: 'Bearer ' + '0'.repeat(64), 'Content-Type': 'application/json' }, body: '{}' })));
  await attempt('form post', async () => {
    const frame = document.createElement('iframe');
    frame.name = 'sink';
    document.body.append(frame);
    const form = document.createElement('form');
    form.method = 'POST'; form.action = C + `/api/runs/${RUN}/cancel`; form.target = 'sink'; form.enctype = 'text/plain';
    const field = document.createElement('input');
    field.name = '{"x":"'; field.value = '"}';
    form.append(field);
    document.body.append(form);
    const posted = settle(frame);
    form.submit();
    const how = await posted;
    let inside;
    try { inside = frame.contentDocument ? frame.contentDocument.documentElement.outerHTML : 'no document'; } catch (error) { inside = 'threw ' + error.name; }
    return { how, inside };
  });
  await attempt('img', async () => {
    const image = new Image();
    const how = settle(image);
    image.src = C + '/api/session';
    return { how: await how, width: image.naturalWidth };
  });
  await attempt('script', async () => {
    const script = document.createElement('script');
    const how = settle(script);
    script.src = C + '/api/session';
    document.head.append(script);
    return await how;
  });
  await attempt('frame of the console', async () => {
    const frame = document.createElement('iframe');
    const how = settle(frame);
    frame.src = C + '/#/runs';
    document.body.append(frame);
    const loaded = await how;
    let storage;
    try { storage = JSON.stringify({ ...frame.contentWindow.sessionStorage }); } catch (error) { storage = 'threw ' + error.name; }
    return { loaded, storage };
  });
  await attempt('event stream', () => new Promise((resolve) => {
    const source = new EventSource(C + `/api/runs/${RUN}/events`, { withCredentials: true });
    const timer = setTimeout(() => { source.close(); resolve('no answer within 10 s'); }, 10000);
    source.onmessage = (event) => { clearTimeout(timer); source.close(); resolve('message ' + event.data); };
    source.addEventListener('step', (event) => { clearTimeout(timer); source.close(); resolve('step ' + event.data); });
    source.onerror = () => { clearTimeout(timer); source.close(); resolve('error'); };
  }));
  results.errors = errors;
  window.results = results;
  document.getElementById('out').textContent = JSON.stringify(results, null, 2);
  document.body.dataset.done = 'yes';
})();
</script></body></html>"""


class AttackerServer:
    """A tiny HTTP server on another port of 127.0.0.1, as any local user
    could run: it serves ATTACK_PAGE and writes down the headers of every
    request the browser sends it (a cookie for 127.0.0.1 would be among them)."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                received.append((self.path, {name.lower(): value for name, value in self.headers.items()}))
                body = ATTACK_PAGE.encode() if self.path.startswith("/?") else b"nothing here"
                self.send_response(200 if self.path.startswith("/?") else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Console:
    def __init__(self, args):
        self.atomd, self.home = args.atomd, args.home
        self.work = pathlib.Path(args.work)
        self.shots = pathlib.Path(args.shots)
        self.shots.mkdir(parents=True, exist_ok=True)
        options = Options()
        options.binary_location = args.chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--no-first-run", "--disable-background-networking"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
        self.driver.set_page_load_timeout(LIMIT)
        # The views are redrawn as events arrive: an element found a moment ago may be gone.
        self.wait = WebDriverWait(self.driver, LIMIT, poll_frequency=0.05,
                                  ignored_exceptions=[StaleElementReferenceException, NoSuchElementException])

    # -- helpers --------------------------------------------------------------

    def until(self, what, condition):
        try:
            return self.wait.until(lambda _: condition())
        except TimeoutException:
            raise AssertionError(f"not within {LIMIT} s: {what}\npage:\n{self.text()}") from None

    def text(self):
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except Exception:  # the page may be between two states
            return ""

    def shot(self, name):
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path}")

    def submit(self, name, yaml, *extra):
        path = self.work / f"{name}.yaml"
        path.write_text(yaml)
        subprocess.run([self.atomd, "submit", str(path), "--home", self.home, *extra], check=True, timeout=60)

    def gate(self, name):
        return str(self.work / name)

    def release(self, name):
        pathlib.Path(self.gate(name)).touch()

    def open_run_of(self, job):
        """From the runs list, the newest run of `job`; returns its id."""
        self.driver.get(self.base + "#/runs")
        rows = lambda: [row for row in self.driver.find_elements(By.CSS_SELECTOR, "#runs tr[data-run]")
                        if row.find_elements(By.TAG_NAME, "td")[1].text.startswith(job)]
        row = self.until(f"a run of {job} in the list", lambda: (rows() or [None])[0])
        run_id = row.get_attribute("data-run")
        self.click(f'#runs tr[data-run="{run_id}"] a')
        self.until(f"the page of run {run_id}", lambda: self.driver.find_elements(By.CSS_SELECTOR, ".run-head h1 .badge"))
        return run_id

    def safe(self, read):
        try:
            return read()
        except Exception:  # re-rendered between finding and reading
            return None

    def step_status(self, step):
        return self.safe(lambda: self.driver.find_element(By.CSS_SELECTOR, f'.step[data-step="{step}"]').get_attribute("data-status"))

    def run_status(self):
        return self.safe(lambda: self.driver.find_element(By.CSS_SELECTOR, ".run-head h1 .badge").get_attribute("data-status"))

    def wait_step(self, step, status):
        self.until(f"step {step} {status}", lambda: self.step_status(step) == status)

    def stream_connections(self):
        return self.safe(lambda: self.driver.find_element(By.ID, "stream").get_attribute("data-connections"))

    def wait_stream(self, state):
        self.until(f"the event stream {state}",
                   lambda: self.safe(lambda: self.driver.find_element(By.ID, "stream").get_attribute("data-state")) == state)

    def wait_run(self, status):
        self.until(f"run {status}", lambda: self.run_status() == status)

    def steer(self, label):
        """Clicks a toolbar button and confirms in the dialog."""
        def click():
            # The run's view is redrawn as events arrive: find and click anew.
            button = next((b for b in self.driver.find_elements(By.CSS_SELECTOR, "main button") if b.text == label), None)
            return button is not None and self.safe(lambda: button.click() or True)
        self.until(f"a '{label}' button to click", click)
        dialog = self.driver.find_element(By.ID, "confirm")
        self.until("the confirmation dialog", lambda: dialog.get_attribute("open") is not None)
        return dialog

    def click(self, selector):
        """Finds and clicks anew until it works: views are redrawn as events arrive."""
        self.until(f"{selector} to click", lambda: self.safe(lambda: self.driver.find_element(By.CSS_SELECTOR, selector).click() or True))

    def confirm(self):
        self.click("#confirm-yes")
        self.until("the dialog to close", lambda: self.driver.find_element(By.ID, "confirm").get_attribute("open") is None)

    def page_reloads(self):
        """A marker that a reload would wipe: proves updates arrived live."""
        self.driver.execute_script("window.__noReload = true")
        return lambda: self.driver.execute_script("return window.__noReload === true")

    def agent_status(self, run_id):
        """The run's status as the agent has it, asked over its control socket:
        from outside the browser, so nothing a page did can fake it."""
        out = subprocess.run(["curl", "-sS", "--max-time", "20", "--unix-socket", self.home + "/atomd.sock",
                              f"http://atomd/runs/{run_id}"], check=True, capture_output=True, text=True, timeout=60).stdout
        return json.loads(out)["run"]["status"]

    def console_get(self, path, headers):
        """A request to the console from outside the browser: (status, body)."""
        request = urllib.request.Request(self.base.rstrip("/") + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stored_session(self):
        return self.driver.execute_script("return sessionStorage.getItem('atomd_session')")

    # -- scenarios ------------------------------------------------------------

    def log_in(self, link):
        self.base = link.split("/login")[0] + "/"
        assert "/login#token=" in link, link
        self.driver.get(link)
        self.until("the runs page", lambda: "Runs" in self.text() and "steer" in self.text())
        assert "token" not in self.driver.current_url, self.driver.current_url
        # The session lives in this tab's sessionStorage; the browser holds no cookie at all.
        self.session = self.stored_session()
        assert self.session and len(self.session) == 64, self.session
        assert self.driver.get_cookies() == [], self.driver.get_cookies()
        assert self.driver.execute_script("return document.cookie") == "", "a cookie is readable by scripts"
        # No page the server sends holds the session, even asked with it.
        status, html = self.console_get("/", {"Authorization": f"Bearer {self.session}"})
        assert status == 200 and self.session not in html, status
        assert self.session not in self.driver.page_source
        # The link is good once; a refused link leaves this tab's session alone.
        self.driver.get(link)
        self.until("the used link refused", lambda: "used or has expired" in self.text())
        self.driver.get(self.base)
        self.until("still signed in", lambda: "Runs" in self.text() and "steer" in self.text())
        # A reload keeps the tab signed in.
        self.driver.refresh()
        self.until("signed in after a reload", lambda: "Runs" in self.text() and "steer" in self.text())
        assert self.stored_session() == self.session
        # Another tab is not signed in, not even with the session as a cookie.
        console_tab = self.driver.current_window_handle
        self.driver.switch_to.new_window("tab")
        self.driver.get(self.base)
        self.until("a new tab signed out", lambda: "Signed out" in self.text())
        self.driver.add_cookie({"name": "atomd_session", "value": self.session, "path": "/"})
        self.driver.refresh()
        self.until("a cookie does not sign in", lambda: "Signed out" in self.text())
        self.driver.delete_all_cookies()
        self.driver.close()
        self.driver.switch_to.window(console_tab)

    def attack_from(self, server, run_id, where):
        """Opens the attacker's page (in a new tab, or in the console's own
        tab) and returns what it learned."""
        query = urllib.parse.urlencode({"console": self.base.rstrip("/"), "run": run_id})
        self.driver.get(f"http://127.0.0.1:{server.port}/?{query}")
        self.until(f"the attacks ({where}) to finish",
                   lambda: self.driver.execute_script("return document.body && document.body.dataset.done === 'yes'"))
        results = self.driver.execute_script("return window.results")
        print(f"attacker page ({where}): {json.dumps(results)[:2000]}", flush=True)
        return results

    def another_port(self):
        """A page served by another local user on another port of 127.0.0.1,
        opened in the same browser after sign-in, gets nothing usable, and
        steers nothing; the console, meanwhile, still steers."""
        self.submit("target", f"""
version: 1
name: target
steps:
  - {{ id: hold, timeout: 3m, run: "while [ ! -e {self.gate('target')} ]; do sleep 0.05; done" }}
  - {{ id: after, run: "echo after" }}
""")
        run_id = self.open_run_of("target")
        self.wait_step("hold", "running")
        console_tab = self.driver.current_window_handle
        server = AttackerServer()
        try:
            self.driver.switch_to.new_window("tab")
            in_new_tab = self.attack_from(server, run_id, "a new tab")
            self.shot("13-another-port")
            self.driver.close()
            self.driver.switch_to.window(console_tab)
            # The console's own tab, whose sessionStorage holds the session.
            in_console_tab = self.attack_from(server, run_id, "the console's tab")
        finally:
            server.close()
        for results in (in_new_tab, in_console_tab):
            text = json.dumps(results)
            assert self.session not in text, "the attacker's page learned the session"
            assert '"steer"' not in text and "root" not in text, f"the attacker's page read the console's data: {text}"
            assert results["document.cookie"] == "", results["document.cookie"]
            assert results["storage"] == '{"session":{},"local":{}}', results["storage"]
            # A readable cross-origin answer needs CORS, which the console never grants.
            assert results["fetch session"] == "threw TypeError", results["fetch session"]
            assert results["cancel with a header"] == "threw TypeError", results["cancel with a header"]
            for name in ("fetch session no-cors", "fetch runs no-cors", "pause no-cors"):
                assert results[name] == {"type": "opaque", "status": 0, "body": ""}, (name, results[name])
            assert results["img"]["how"] == "error" and results["img"]["width"] == 0, results["img"]
            assert results["script"] == "error", results["script"]
            assert results["form post"]["inside"] in ("threw SecurityError", "no document"), results["form post"]
            assert results["frame of the console"]["storage"] == "threw SecurityError", results["frame of the console"]
            assert results["event stream"] == "error", results["event stream"]
        # What the browser sent the other port's server: no cookie, no session.
        assert server.received, "the attacker's server saw no request"
        for path, headers in server.received:
            assert "cookie" not in headers and "authorization" not in headers, (path, headers)
            assert all(self.session not in value for value in headers.values()), (path, headers)
        # Nothing was steered: the agent still runs the run, as it says over its own socket.
        assert self.agent_status(run_id) == "running", self.agent_status(run_id)
        # Back in the console: still signed in, and it steers the same run.
        self.driver.get(self.base + f"#/runs/{run_id}")
        self.wait_step("hold", "running")
        assert self.stored_session() == self.session
        # The event stream (fetch, with the session header) breaks and comes
        # back: the browser's connections to the console are killed (ss -K,
        # as root), and the page opens the stream again.
        self.wait_stream("live")
        assert self.stream_connections() == "1", self.stream_connections()
        port = urllib.parse.urlsplit(self.base).port
        subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", str(port)], check=True, capture_output=True, timeout=20)
        self.until("the event stream opened again", lambda: self.stream_connections() == "2")
        self.wait_stream("live")
        still = self.page_reloads()
        self.steer("Pause")
        self.confirm()
        self.release("target")
        self.wait_run("paused")
        assert self.agent_status(run_id) == "paused", self.agent_status(run_id)
        self.steer("Resume")
        self.confirm()
        self.wait_run("succeeded")
        self.wait_step("after", "succeeded")
        self.wait_stream("ended")
        assert still(), "the page was reloaded: the run was not followed live"
        # Across the reconnection, every journaled event is in the feed once:
        # none missed, none twice (Last-Event-ID).
        history = subprocess.run(["curl", "-sS", "--max-time", "20", "--unix-socket", self.home + "/atomd.sock",
                                  f"http://atomd/runs/{run_id}/events?follow=false"],
                                 check=True, capture_output=True, text=True, timeout=60).stdout
        journaled = [line for line in history.splitlines() if line in ("event: run", "event: step", "event: note", "event: closed")]
        shown = self.driver.find_elements(By.CSS_SELECTOR, "#feed li")
        assert len(shown) == len(journaled), f"{len(shown)} events shown, {len(journaled)} journaled"

    def watch_live_success(self):
        self.submit("watch-live", f"""
version: 1
name: watch-live
steps:
  - {{ id: prepare, run: "echo preparing the release" }}
  - id: fan-out
    group:
      mode: parallel
      steps:
        - {{ id: left, run: "echo left branch" }}
        - {{ id: right, run: "echo right branch" }}
  - id: build
    group:
      mode: graph
      steps:
        - {{ id: compile, run: "echo compile" }}
        - {{ id: lint, run: "echo lint" }}
        - {{ id: package, needs: [compile, lint], run: "echo package" }}
  - {{ id: wait-for-gate, timeout: 2m, run: "while [ ! -e {self.gate('live')} ]; do sleep 0.05; done; echo gate open" }}
  - {{ id: finish, run: "echo finished" }}
""")
        self.open_run_of("watch-live")
        still = self.page_reloads()
        self.wait_step("wait-for-gate", "running")
        self.until("the parallel branches side by side",
                   lambda: len(self.driver.find_elements(By.CSS_SELECTOR, ".branches:not(.graph) > .step")) == 2)
        left, right = self.driver.execute_script(
            "return ['left', 'right'].map((id) => document.querySelector(`.step[data-step='${id}']`).getBoundingClientRect().toJSON())")
        assert abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"], (left, right)
        levels = self.driver.execute_script(
            "return [...document.querySelectorAll('.graph .level')].map((level) => ({ x: level.getBoundingClientRect().x, "
            + "steps: [...level.querySelectorAll('.step')].map((step) => step.dataset.step) }))")
        assert [level["steps"] for level in levels] == [["compile", "lint"], ["package"]], levels
        assert levels[1]["x"] > levels[0]["x"], "graph levels are not side by side"
        self.shot("01-run-live")
        self.release("live")
        self.wait_run("succeeded")
        self.wait_step("finish", "succeeded")
        assert still(), "the page was reloaded: the run was not followed live"
        self.until("events in the feed", lambda: "closed" in self.driver.find_element(By.ID, "feed").text)
        self.shot("02-run-succeeded")
        # A step's logs.
        self.click('[aria-label="Logs of step prepare"]')
        self.until("the step's log", lambda: "preparing the release" in self.driver.find_element(By.ID, "log").text)
        self.shot("03-step-logs")

    def watch_compensation(self):
        made = self.work / "made-by-create"
        self.submit("compensate", f"""
version: 1
name: compensate
steps:
  - id: create
    run: "touch {made}"
    revert: "while [ ! -e {self.gate('revert')} ]; do sleep 0.05; done; rm {made}"
  - {{ id: deploy, timeout: 2m, run: "while [ ! -e {self.gate('deploy')} ]; do sleep 0.05; done; echo deploy failed >&2; exit 3" }}
""")
        self.open_run_of("compensate")
        self.wait_step("deploy", "running")
        assert made.exists()
        self.release("deploy")
        self.wait_step("create", "reverting")
        self.until("the compensation highlighted",
                   lambda: self.driver.find_elements(By.CSS_SELECTOR, '.compensating .comp.active[data-step="create"]'))
        self.shot("04-compensating")
        self.release("revert")
        self.wait_run("reverted")
        self.wait_step("create", "reverted")
        assert not made.exists(), "compensation did not remove what the run made"
        self.shot("05-reverted")

    def pause_and_resume(self):
        self.submit("pausable", f"""
version: 1
name: pausable
steps:
  - {{ id: first, timeout: 2m, run: "while [ ! -e {self.gate('pause')} ]; do sleep 0.05; done" }}
  - {{ id: second, run: "echo second" }}
""")
        self.open_run_of("pausable")
        self.wait_step("first", "running")
        # By keyboard: Tab to the Pause button, Enter, and Enter on the dialog's default action.
        focused = lambda: self.driver.execute_script("return document.activeElement.textContent")
        for _ in range(60):
            if focused() == "Pause":
                break
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
        assert focused() == "Pause", "the Pause button cannot be reached by keyboard"
        ActionChains(self.driver).send_keys(Keys.ENTER).perform()
        dialog = self.driver.find_element(By.ID, "confirm")
        self.until("the confirmation dialog", lambda: dialog.get_attribute("open") is not None)
        assert "No new step starts" in dialog.text
        self.confirm()
        self.release("pause")
        self.wait_run("paused")
        self.wait_step("first", "succeeded")
        assert self.step_status("second") == "pending", self.step_status("second")
        self.shot("06-paused")
        self.steer("Resume")
        self.confirm()
        self.wait_run("succeeded")
        self.wait_step("second", "succeeded")

    def roll_back(self):
        ledger = self.work / "ledger"
        self.submit("roll-back", f"""
version: 1
name: roll-back
on_failure: pause
steps:
  - {{ id: fetch, run: "echo fetch >> {ledger}", revert: "echo revert-fetch >> {ledger}" }}
  - {{ id: install, run: "echo install >> {ledger}", revert: "echo revert-install >> {ledger}" }}
  - {{ id: smoke, run: "test -e {self.gate('smoke')} || {{ echo smoke failed >&2; exit 1; }}" }}
""")
        self.open_run_of("roll-back")
        self.until("smoke waiting for a decision", lambda: "Waiting for a decision" in self.text())
        assert self.driver.find_elements(By.CSS_SELECTOR, '[aria-label="Retry step smoke"]')
        dialog = self.steer("Roll back…")
        targets = {radio.get_attribute("value"): radio.is_enabled()
                   for radio in dialog.find_elements(By.CSS_SELECTOR, "input[name=target]")}
        assert targets.get("fetch") and targets.get("install"), targets
        assert dialog.find_elements(By.CSS_SELECTOR, ".target.refused .reason"), "no refused target with its reason"
        self.shot("07-rollback-targets")
        self.click('#confirm input[value="fetch"]')
        self.confirm()
        # Back to fetch: install, then fetch itself, reverted newest first; the run waits to go on.
        self.until("install and fetch reverted", lambda: ledger.read_text().split() ==
                   ["fetch", "install", "revert-install", "revert-fetch"])
        self.wait_run("paused")
        self.wait_step("fetch", "pending")
        self.release("smoke")
        self.steer("Resume")
        self.confirm()
        self.wait_run("succeeded")
        assert ledger.read_text().split() == ["fetch", "install", "revert-install", "revert-fetch", "fetch", "install"], ledger.read_text()
        self.shot("08-rolled-back")

    def other_pages(self):
        self.driver.get(self.base + "#/plugins")
        self.until("the plugins page", lambda: "files.write" in self.text())
        self.click("details summary")
        self.until("an input schema", lambda: '"type"' in self.text())
        self.shot("09-plugins")
        self.driver.get(self.base + "#/health")
        self.until("the health page", lambda: "ok: " in self.text() and "atomd_" in self.text())
        self.shot("10-health")
        self.driver.get(self.base + "#/queue")
        self.until("the queue page", lambda: "Nothing waits." in self.text())
        self.driver.get(self.base + "#/runs")
        self.until("the runs page", lambda: len(self.driver.find_elements(By.CSS_SELECTOR, "#runs tr[data-run]")) >= 4)
        Select(self.driver.find_element(By.ID, "filter-status")).select_by_value("reverted")
        self.until("only reverted runs", lambda: [r.text for r in self.driver.find_elements(By.CSS_SELECTOR, "#runs tr[data-run] .badge")]
                   == ["reverted"])
        self.shot("11-runs-filtered")
        Select(self.driver.find_element(By.ID, "filter-status")).select_by_value("")
        # Readable on a phone: nothing wider than the screen.
        self.driver.set_window_size(390, 844)
        self.open_run_of("watch-live")
        overflow = self.driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the run page is {overflow}px wider than a phone"
        self.shot("12-run-on-a-phone")
        self.driver.set_window_size(1280, 900)

    def sign_out(self):
        self.driver.get(self.base + "#/runs")
        self.until("the sign-out button", lambda: self.driver.find_element(By.ID, "signout").is_displayed())
        self.click("#signout")
        self.until("signed out", lambda: "Signed out" in self.text())
        assert self.stored_session() is None, "the session stayed in sessionStorage"
        status, _ = self.console_get("/api/session", {"Authorization": f"Bearer {self.session}"})
        assert status == 401, f"the session still works after signing out: {status}"
        self.driver.get(self.base)
        self.until("signed out after a reload", lambda: "Signed out" in self.text())


def main():
    parser = argparse.ArgumentParser()
    for name in ("atomd", "home", "link", "work", "shots", "chromium", "chromedriver"):
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()
    console = Console(args)
    scenarios = [console.another_port, console.watch_live_success, console.watch_compensation, console.pause_and_resume,
                 console.roll_back, console.other_pages, console.sign_out]
    failed = False
    try:
        console.log_in(args.link)
        for scenario in scenarios:
            print(f"scenario: {scenario.__name__}", flush=True)
            scenario()
    except Exception:
        traceback.print_exc()
        console.shot("failure")
        failed = True
    finally:
        console.driver.quit()
    print("console browser test: " + ("FAILED" if failed else "passed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
