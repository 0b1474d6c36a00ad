extension ConsoleAssets {
    static let script = #"""
    'use strict';
    // The atomd console: one page, views chosen by the address's #fragment.
    // Every element is built with textContent: nothing from the agent is parsed as HTML.

    const state = { session: null, token: null, cleanups: [] };
    // The session id lives in this tab's sessionStorage, which only pages of
    // this exact origin (scheme, host and port) can read; it is sent in the
    // Authorization header, never a cookie, so no other page, port or site
    // can make the browser send it. A reload keeps it; a new tab signs in anew.
    const storageKey = 'atomd_session';
    const runStatuses = ['queued', 'running', 'paused', 'rolling_back', 'reverting', 'succeeded', 'reverted', 'revert_failed', 'failed', 'cancelled'];

    class Failure extends Error {
      constructor(status, body) {
        super(body && body.error ? body.error : `HTTP ${status}`);
        this.status = status;
        this.hint = body && body.hint;
        this.rule = body && body.rule;
      }
    }

    function authorization() {
      return { Authorization: `Bearer ${state.token || ''}` };
    }

    async function api(path, options = {}) {
      // credentials 'omit': the console's own requests need no cookie, and none is ever set.
      const init = { method: options.method || 'GET', credentials: 'omit', headers: authorization() };
      if (init.method !== 'GET') {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(options.body || {});
      }
      const response = await fetch('/api' + path, init);
      const type = response.headers.get('content-type') || '';
      const body = type.includes('json') ? await response.json() : await response.text();
      if (response.status === 401) signedOut();
      if (!response.ok && !options.accept?.includes(response.status)) throw new Failure(response.status, body);
      return body;
    }

    function el(tag, attributes = {}, ...children) {
      const node = document.createElement(tag);
      for (const [key, value] of Object.entries(attributes)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? '' : value);
      }
      for (const child of children.flat()) {
        if (child === undefined || child === null || child === false) continue;
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
      return node;
    }

    function badge(status) {
      return el('span', { class: `badge status-${status}`, 'data-status': status }, status.replace('_', ' '));
    }

    function when(text) {
      if (!text) return '–';
      const date = new Date(text);
      return date.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
    }

    function took(start, end) {
      if (!start) return '–';
      const seconds = ((end ? new Date(end) : new Date()) - new Date(start)) / 1000;
      if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
      if (seconds < 120) return `${seconds.toFixed(1)} s`;
      return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
    }

    function notice(text, kind = 'error') {
      const box = document.getElementById('notice');
      box.textContent = text;
      box.className = `notice ${kind}`;
      box.hidden = !text;
    }

    function failureText(error) {
      return error.message + (error.rule ? ` [rule: ${error.rule}]` : '') + (error.hint ? ` — ${error.hint}` : '');
    }

    function signedOut(why) {
      state.session = null;
      state.token = null;
      sessionStorage.removeItem(storageKey);
      cleanUp();
      const main = document.getElementById('main');
      main.replaceChildren(el('h1', {}, 'Signed out'), why ? el('p', {}, why) : null,
        el('p', {}, 'Run `atomd console` on the agent\'s machine and open the link it prints.'));
    }

    function every(ms, action) {
      const timer = setInterval(action, ms);
      state.cleanups.push(() => clearInterval(timer));
    }

    function cleanUp() {
      for (const cleanup of state.cleanups.splice(0)) cleanup();
    }

    // Asks before any steering; resolves true when confirmed.
    function confirmAction(title, body, verb) {
      const dialog = document.getElementById('confirm');
      document.getElementById('confirm-title').textContent = title;
      document.getElementById('confirm-body').replaceChildren(...[body].flat().map((part) => typeof part === 'string' ? el('p', {}, part) : part));
      document.getElementById('confirm-yes').textContent = verb;
      return new Promise((resolve) => {
        dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
        dialog.returnValue = 'cancel';
        dialog.showModal();
      });
    }

    async function steer(title, body, verb, path, payload) {
      if (!(await confirmAction(title, body, verb))) return false;
      try {
        await api(path, { method: 'POST', body: payload });
        notice(`${verb}: requested`, 'info');
        return true;
      } catch (error) {
        notice(failureText(error));
        return false;
      }
    }

    // ---- Runs -------------------------------------------------------------

    async function runsView(main) {
      const status = el('select', { id: 'filter-status' }, el('option', { value: '' }, 'any'),
        runStatuses.map((name) => el('option', { value: name }, name.replace('_', ' '))));
      const job = el('input', { id: 'filter-job', type: 'search', placeholder: 'job name' });
      const since = el('select', { id: 'filter-since' }, el('option', { value: '' }, 'any time'),
        el('option', { value: '3600' }, 'last hour'), el('option', { value: '86400' }, 'last day'),
        el('option', { value: '604800' }, 'last week'));
      const counts = el('ul', { class: 'counts', id: 'counts', 'aria-live': 'polite' });
      const body = el('tbody', { id: 'runs' });
      let shown = '';
      main.replaceChildren(
        el('h1', {}, 'Runs'), counts,
        el('form', { class: 'filters', role: 'search', onsubmit: (event) => event.preventDefault() },
          el('label', {}, 'Status ', status), el('label', {}, 'Job ', job), el('label', {}, 'Started ', since)),
        el('table', {}, el('caption', { class: 'hidden' }, 'Runs, newest first'),
          el('thead', {}, el('tr', {}, ['Run', 'Job', 'Status', 'Started', 'Took'].map((name) => el('th', { scope: 'col' }, name)))),
          body));
      async function refresh() {
        const list = await api('/runs?limit=200' + (status.value ? `&status=${status.value}` : ''));
        const cutoff = since.value ? Date.now() - Number(since.value) * 1000 : 0;
        const needle = job.value.trim().toLowerCase();
        const runs = list.runs.filter((run) => (!needle || run.job.toLowerCase().includes(needle))
          && (!cutoff || new Date(run.created_at).getTime() >= cutoff));
        const tally = {};
        for (const run of list.runs) tally[run.status] = (tally[run.status] || 0) + 1;
        // Redrawn only when something changed: a focused link keeps its focus.
        const text = JSON.stringify([runs, tally, list.live.length, list.queued.length]);
        if (text === shown) return;
        shown = text;
        counts.replaceChildren(el('li', {}, `${list.live.length} live`), el('li', {}, `${list.queued.length} queued`),
          ...Object.entries(tally).map(([name, count]) => el('li', {}, badge(name), ` ${count}`)));
        body.replaceChildren(...runs.map((run) => el('tr', { 'data-run': run.id },
          el('td', {}, el('a', { href: `#/runs/${encodeURIComponent(run.id)}` }, run.id)),
          el('td', {}, run.job, run.rehearsal ? ` (rehearsal: ${run.rehearsal})` : ''),
          el('td', {}, badge(run.status)), el('td', {}, when(run.started_at)),
          el('td', {}, took(run.started_at, run.finished_at)))));
        if (!runs.length) body.replaceChildren(el('tr', {}, el('td', { colspan: 5 }, 'No run matches.')));
      }
      for (const control of [status, job, since]) control.addEventListener('input', () => refresh().catch((e) => notice(failureText(e))));
      await refresh();
      every(2000, () => refresh().catch(() => {}));
    }

    // ---- One run ----------------------------------------------------------

    async function runView(main, id) {
      const path = `/runs/${encodeURIComponent(id)}`;
      const plan = await api(path + '/plan').catch(() => null);
      const feed = el('ol', { class: 'feed', id: 'feed', 'aria-live': 'polite', 'aria-label': 'Events' });
      const view = el('div', { id: 'run-view' });
      // Whether the stream is open: a broken one is retried, and the reader is told.
      const streaming = el('p', { class: 'muted', id: 'stream', 'data-state': 'connecting' }, 'Connecting…');
      main.replaceChildren(view, el('section', { 'aria-labelledby': 'events-title' }, el('h2', { id: 'events-title' }, 'Events'), streaming, feed));
      let detail = null, shown = '';

      // Redrawn only when something changed, and the focused control keeps
      // the focus: a keyboard user is not thrown back to the top by an event.
      async function refresh() {
        detail = await api(path);
        const text = JSON.stringify(detail);
        if (text === shown) return;
        shown = text;
        const key = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : undefined;
        render();
        if (key) view.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
      }

      function stepCard(planned, steps) {
        const step = steps.get(planned.id);
        const status = step ? step.status : 'pending';
        const card = el('div', { class: `step status-${status}`, 'data-step': planned.id, 'data-status': status },
          el('div', { class: 'step-head' }, el('strong', {}, planned.id), ' ', badge(status)),
          el('div', { class: 'step-meta' }, planned.action,
            step && step.attempts ? ` · ${step.attempts} attempt${step.attempts === 1 ? '' : 's'}` : '',
            step && step.started_at ? ` · ${took(step.started_at, step.finished_at)}` : ''));
        if (step && step.state) {
          card.append(el('div', { class: 'step-state' }, 'state: ', JSON.stringify(step.state.before ?? null), ' → ',
            JSON.stringify(step.state.after ?? null)));
        }
        if (step && step.error) card.append(el('div', { class: 'step-error' }, step.error));
        if (step && step.compensation) card.append(el('div', { class: 'step-meta' }, 'compensation: ', step.compensation));
        if (step && planned.children.length === 0) {
          card.append(el('a', { href: `#/runs/${encodeURIComponent(id)}/logs/${encodeURIComponent(step.path)}`,
            'aria-label': `Logs of step ${planned.id}`, 'data-key': `logs:${planned.id}` }, 'logs'));
        }
        if (detail.waiting && detail.waiting.includes(planned.id) && state.session.steer) {
          card.append(el('div', { class: 'actions' },
            el('button', { type: 'button', 'aria-label': `Retry step ${planned.id}`, 'data-key': `retry:${planned.id}`, onclick: () =>
              steer(`Retry step ${planned.id}?`, 'The step runs again under a new attempt.', 'Retry',
                `${path}/steps/${encodeURIComponent(planned.id)}/retry`).then(refresh) }, 'Retry'),
            el('button', { type: 'button', 'aria-label': `Skip step ${planned.id}`, 'data-key': `skip:${planned.id}`, onclick: () =>
              steer(`Skip step ${planned.id}?`, 'The run goes on as if the step had succeeded with no outputs.', 'Skip',
                `${path}/steps/${encodeURIComponent(planned.id)}/skip`).then(refresh) }, 'Skip')));
        }
        if (planned.children.length) card.append(tree(planned.children, steps, planned.mode));
        return card;
      }

      // Sequences go down the page; parallel branches and graph levels side by side.
      function tree(planned, steps, mode = 'sequence') {
        if (mode === 'parallel') {
          return el('div', { class: 'branches', role: 'group', 'aria-label': 'parallel branches' },
            planned.map((child) => stepCard(child, steps)));
        }
        if (mode === 'graph') {
          const levels = new Map();
          for (const child of planned) levels.set(child.order, [...(levels.get(child.order) || []), child]);
          return el('div', { class: 'branches graph', role: 'group', 'aria-label': 'graph levels' },
            [...levels.keys()].sort((a, b) => a - b).map((level) => el('div', { class: 'level' },
              el('div', { class: 'level-head' }, `level ${level}`), levels.get(level).map((child) => stepCard(child, steps)))));
        }
        return el('ol', { class: 'sequence' }, planned.map((child) => el('li', {}, stepCard(child, steps))));
      }

      function controls(run) {
        if (!detail.waiting || !state.session.steer) return el('p', { class: 'muted' },
          detail.waiting ? 'You may watch this run, not steer it.'
            : run.open ? 'This agent does not hold this run: a run from `atomd run` is steered from its terminal.'
              : 'This run has ended.');
        const bar = el('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Steer the run' });
        const button = (label, title, text, verb, suffix) => el('button', { type: 'button', 'data-key': suffix, onclick: () =>
          steer(title, text, verb, `${path}/${suffix}`).then(refresh) }, label);
        const cancel = button('Cancel', `Cancel run ${run.id}?`, 'Running steps are cancelled, then every step done is reverted, newest first.', 'Cancel the run', 'cancel');
        // A rollback in progress refuses pause, resume and another rollback
        // until it ends; a cancel is taken, and compensates after it.
        if (run.status === 'rolling_back') {
          bar.append(el('p', { class: 'muted', role: 'status' }, 'Rolling back: pause, resume and roll back come back when the rollback has ended.'), cancel);
          return bar;
        }
        if (run.status === 'paused') bar.append(button('Resume', `Resume run ${run.id}?`, 'Steps start again where the run stopped.', 'Resume', 'resume'));
        else bar.append(button('Pause', `Pause run ${run.id}?`, 'No new step starts; running steps finish.', 'Pause', 'pause'));
        bar.append(cancel);
        bar.append(el('button', { type: 'button', 'data-key': 'rollback', onclick: rollback }, 'Roll back…'));
        return bar;
      }

      async function rollback() {
        let targets;
        try {
          targets = await api(`${path}/rollback/targets`);
        } catch (error) {
          notice(failureText(error));
          return;
        }
        const allowed = targets.filter((target) => target.allowed);
        const choices = el('fieldset', { class: 'targets' }, el('legend', {}, 'Roll back to'),
          targets.map((target, index) => el('div', { class: target.allowed ? 'target' : 'target refused' },
            el('label', {}, el('input', { type: 'radio', name: 'target', value: target.step, disabled: !target.allowed,
              checked: target.allowed && target === allowed[allowed.length - 1] }), ` ${target.path}`),
            target.reason ? el('div', { class: 'reason' }, target.reason) : null)));
        const body = [allowed.length ? 'The steps done since the one you choose, and that one, are reverted newest first. '
          + 'The run then waits: Resume runs them again.' : 'No step can be rolled back to now; the reasons are listed.', choices];
        if (!(await confirmAction(`Roll back run ${id}?`, body, 'Roll back'))) return;
        const chosen = choices.querySelector('input[name=target]:checked');
        if (!chosen) return;
        try {
          await api(`${path}/rollback`, { method: 'POST', body: { to: chosen.value } });
          notice(`Roll back to ${chosen.value}: requested`, 'info');
        } catch (error) {
          notice(failureText(error));
        }
        refresh();
      }

      function render() {
        const run = detail.run;
        const steps = new Map(detail.steps.map((step) => [step.id, step]));
        const reverting = detail.steps.filter((step) => step.status === 'reverting').map((step) => step.id);
        const header = el('div', { class: 'run-head' },
          el('h1', {}, `${run.job} `, badge(run.status)),
          el('p', { class: 'muted' }, `run ${run.id} · ${run.job_file} · submitted by ${run.submitter} · started ${when(run.started_at)} · took ${took(run.started_at, run.finished_at)}`),
          detail.detail ? el('p', {}, detail.detail) : null,
          detail.waiting && detail.waiting.length ? el('p', { class: 'waiting' }, 'Waiting for a decision: ', detail.waiting.join(', ')) : null,
          (detail.locks || []).map((text) => el('p', { class: 'muted' }, text)),
          controls(run));
        const compensation = plan ? el('section', { 'aria-labelledby': 'comp-title', class: reverting.length ? 'compensating' : '' },
          el('h2', { id: 'comp-title' }, reverting.length ? 'Compensating now' : 'Compensation order'),
          el('ol', { class: 'compensation' }, plan.compensation.map((stage) => el('li', {},
            stage.steps.map((stepID) => {
              const status = steps.get(stepID)?.status || 'pending';
              return el('span', { class: `comp status-${status}${status === 'reverting' ? ' active' : ''}`, 'data-step': stepID }, stepID, ' ', badge(status));
            }), stage.note ? el('span', { class: 'muted' }, ` (${stage.note})`) : null)))) : null;
        const body = plan ? tree(plan.steps, steps) : el('ol', { class: 'sequence' },
          detail.steps.map((step) => el('li', {}, stepCard({ id: step.id, action: '', children: [] }, steps))));
        const finallySteps = plan && plan.finally.length ? el('section', {}, el('h2', {}, 'Finally'), tree(plan.finally, steps)) : null;
        view.replaceChildren(...[header, el('section', { 'aria-labelledby': 'steps-title' }, el('h2', { id: 'steps-title' }, 'Steps'), body),
          finallySteps, compensation].filter(Boolean));
      }

      await refresh();
      let pending = null;
      const later = () => {
        if (pending) return;
        pending = setTimeout(() => { pending = null; refresh().catch(() => {}); }, 150);
      };
      const streamStates = { live: 'Following live.', reconnecting: 'The stream broke; reconnecting…', ended: 'The run has ended.', refused: 'The stream was refused.' };
      let connections = 0;
      const onState = (name) => {
        // How many times the stream was opened: 1 unless it broke and came back.
        if (name === 'live') streaming.dataset.connections = String(++connections);
        streaming.dataset.state = name;
        streaming.textContent = streamStates[name];
      };
      follow(`/api${path}/events`, onState, (kind, data) => {
        if (!['run', 'step', 'note', 'closed'].includes(kind)) return;
        const event = JSON.parse(data);
        const text = [event.step, event.status, event.detail].filter(Boolean).join(' · ');
        feed.prepend(el('li', {}, el('time', {}, when(event.time).slice(11, 19)), ` ${kind}: ${text}`));
        while (feed.children.length > 200) feed.lastChild.remove();
        later();
      });
    }

    // Follows a server-sent event stream with fetch(), as EventSource cannot
    // send the Authorization header. Parses the SSE format (event, data, id
    // fields; a blank line ends an event) and reconnects with Last-Event-ID
    // when the stream breaks, so nothing journaled is missed or shown twice;
    // it ends at the 'closed' event, on 401, or when the view is left.
    function follow(url, onState, onEvent) {
      const abort = new AbortController();
      state.cleanups.push(() => abort.abort());
      let lastID = null, delay = 500;
      async function once() {
        const headers = { ...authorization(), Accept: 'text/event-stream' };
        if (lastID !== null) headers['Last-Event-ID'] = lastID;
        const response = await fetch(url, { headers, credentials: 'omit', cache: 'no-store', signal: abort.signal });
        if (response.status === 401) { signedOut(); return true; }
        if (response.status >= 400 && response.status < 500) { onState('refused'); return true; }
        if (!response.ok || !response.body) return false;
        onState('live');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '', kind = '', data = [], id = null;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return false;
          delay = 500;
          buffer += value;
          let end;
          // A CR at the very end may be the first half of a CRLF: wait for more.
          while ((end = buffer.search(/\r\n|\r|\n/)) >= 0 && !(end === buffer.length - 1 && buffer[end] === '\r')) {
            const line = buffer.slice(0, end);
            buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
            if (line === '') {
              if (id !== null) lastID = id;
              if (data.length) onEvent(kind || 'message', data.join('\n'));
              if (kind === 'closed') { onState('ended'); return true; }
              kind = ''; data = []; id = null;
              continue;
            }
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') kind = text;
            else if (field === 'data') data.push(text);
            else if (field === 'id') id = text;
          }
        }
      }
      (async () => {
        while (!abort.signal.aborted) {
          let finished = false;
          try {
            finished = await once();
          } catch (error) {
            if (abort.signal.aborted) return;
          }
          if (finished) return;
          onState('reconnecting');
          // A broken stream: try again, waiting longer each time up to 10 s.
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 10000);
        }
      })();
    }

    // ---- Logs -------------------------------------------------------------

    async function logsView(main, id, step) {
      const follow = el('input', { type: 'checkbox', id: 'follow', checked: true });
      const output = el('pre', { class: 'log', id: 'log', tabindex: '0', 'aria-label': `Log of ${step || 'every step'}` });
      main.replaceChildren(el('h1', {}, `Logs: ${step || 'every step'}`),
        el('p', {}, el('a', { href: `#/runs/${encodeURIComponent(id)}` }, `← run ${id}`), ' ',
          el('label', {}, follow, ' Follow')), output);
      async function refresh() {
        const lines = await api(`/runs/${encodeURIComponent(id)}/logs` + (step ? `?step=${encodeURIComponent(step)}` : ''));
        let last = '';
        const parts = [];
        for (const line of lines) {
          const head = `${line.step} · attempt ${line.attempt}${line.phase ? ' · ' + line.phase : ''}`;
          if (head !== last) parts.push(el('span', { class: 'log-head' }, `── ${head}\n`));
          last = head;
          parts.push(`${line.line}\n`);
        }
        output.replaceChildren(...(parts.length ? parts : ['(nothing logged yet)']));
        if (follow.checked) output.scrollTop = output.scrollHeight;
      }
      await refresh();
      every(1000, () => { if (follow.checked) refresh().catch(() => {}); });
    }

    // ---- Queue, plugins, health -------------------------------------------

    async function queueView(main) {
      const live = el('tbody', { id: 'live' }), queued = el('ol', { id: 'queued' });
      main.replaceChildren(el('h1', {}, 'Queue'), el('h2', {}, 'Running'),
        el('table', {}, el('thead', {}, el('tr', {}, ['Run', 'Job', 'File', 'For', 'Waiting'].map((name) => el('th', { scope: 'col' }, name)))), live),
        el('h2', {}, 'Claimed, waiting for a slot'), queued);
      async function refresh() {
        const list = await api('/runs?limit=1');
        live.replaceChildren(...list.live.map((run) => el('tr', {},
          el('td', {}, el('a', { href: `#/runs/${encodeURIComponent(run.run_id)}` }, run.run_id)), el('td', {}, run.job),
          el('td', {}, run.file), el('td', {}, `${Math.round(run.seconds)} s`),
          el('td', {}, [...run.waiting, ...run.locks].join(', ') || '–'))));
        if (!list.live.length) live.replaceChildren(el('tr', {}, el('td', { colspan: 5 }, 'Nothing runs.')));
        queued.replaceChildren(...(list.queued.length ? list.queued.map((file) => el('li', {}, file)) : [el('li', {}, 'Nothing waits.')]));
      }
      await refresh();
      every(2000, () => refresh().catch(() => {}));
    }

    async function pluginsView(main) {
      const plugins = await api('/plugins');
      main.replaceChildren(el('h1', {}, 'Plugins'), ...(plugins.length ? [] : [el('p', {}, 'No plugin found.')]),
        ...plugins.map((plugin) => el('section', { class: 'plugin', 'aria-label': `Plugin ${plugin.name}` },
          el('h2', {}, plugin.name, plugin.version ? ` ${plugin.version}` : ''),
          el('p', { class: 'muted' }, `${plugin.path} · ${plugin.isolation}${plugin.abi ? ' · ABI ' + plugin.abi : ''}`),
          plugin.summary ? el('p', {}, plugin.summary) : null,
          plugin.error ? el('p', { class: 'step-error' }, plugin.error.message, plugin.error.hint ? ` — ${plugin.error.hint}` : '') : null,
          (plugin.atoms || []).map((atom) => el('details', {}, el('summary', {}, `${plugin.name}.${atom.name}`, ' — ', atom.summary,
            atom.revert ? ' · reverts' : ' · no revert', atom.check ? ' · checks' : ''),
            el('pre', {}, atom.inputSchema ? JSON.stringify(atom.inputSchema, null, 2) : 'no input schema'))))));
    }

    async function healthView(main) {
      const health = await api('/healthz', { accept: [503] });
      const metrics = await api('/metrics');
      main.replaceChildren(el('h1', {}, 'Health'),
        el('p', { id: 'health' }, badge(health.status === 'ok' ? 'succeeded' : 'failed'), ` ${health.status}: ${health.running} running, ${health.queued} queued`),
        el('p', {}, `Signed in as ${state.session.user}, ${state.session.steer ? 'may steer' : 'may watch only'}.`),
        el('h2', {}, 'Metrics'), el('pre', { class: 'log' }, metrics));
    }

    // ---- Routing ----------------------------------------------------------

    async function render() {
      cleanUp();
      notice('');
      const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
      const main = document.getElementById('main');
      const section = parts[0] || 'runs';
      for (const link of document.querySelectorAll('[data-nav]')) {
        if (link.dataset.nav === section) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
      }
      try {
        if (section === 'runs' && parts[1] && parts[2] === 'logs') await logsView(main, parts[1], parts.slice(3).join('/'));
        else if (section === 'runs' && parts[1]) await runView(main, parts[1]);
        else if (section === 'queue') await queueView(main);
        else if (section === 'plugins') await pluginsView(main);
        else if (section === 'health') await healthView(main);
        else await runsView(main);
      } catch (error) {
        if (error.status !== 401) main.replaceChildren(el('h1', {}, 'Cannot show this'), el('p', {}, failureText(error)));
      }
    }

    // A login link lands on /login#token=…: the fragment never reaches the
    // server. The token leaves the address bar and the history before it is
    // used, then is traded once for a session kept in this tab only.
    async function signIn() {
      const match = /^#token=([0-9a-f]+)$/.exec(location.hash);
      if (!match) return;
      history.replaceState(null, '', '/');
      const response = await fetch('/api/login', { method: 'POST', credentials: 'omit',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: match[1] }) });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Failure(response.status, body);
      sessionStorage.setItem(storageKey, body.session);
    }

    async function start() {
      try {
        await signIn();
      } catch (error) {
        // A used or expired link: say so. A session this tab already holds stays.
        const main = document.getElementById('main');
        main.replaceChildren(el('h1', {}, 'Cannot sign in'), el('p', {}, failureText(error)));
        return;
      }
      state.token = sessionStorage.getItem(storageKey);
      if (!state.token) return signedOut();
      try {
        state.session = await api('/session');
      } catch (error) {
        return;
      }
      document.getElementById('who').textContent = `${state.session.user} (${state.session.steer ? 'steer' : 'watch'})`;
      document.getElementById('signout').addEventListener('click', async () => {
        await api('/logout', { method: 'POST' }).catch(() => {});
        signedOut();
      });
      window.addEventListener('hashchange', render);
      render();
    }

    document.addEventListener('DOMContentLoaded', start);
    """#
}
