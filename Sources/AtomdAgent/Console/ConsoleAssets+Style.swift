extension ConsoleAssets {
    static let style = #"""
    :root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; --accent: #0b5cad;
      --ok: #116329; --bad: #a40e26; --warn: #7d4e00; --busy: #0b5cad; font-family: system-ui, sans-serif; }
    * { box-sizing: border-box; }
    body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45; }
    header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; background: #24292f; color: #fff; }
    header a, header .who { color: #fff; }
    .brand { font-weight: 700; letter-spacing: .04em; }
    nav { display: flex; gap: .8rem; flex-wrap: wrap; }
    nav a { text-decoration: none; padding: .2rem .1rem; }
    nav a[aria-current=page] { border-bottom: 2px solid #fff; }
    .who { margin-left: auto; font-size: .9rem; }
    main { padding: 1rem; max-width: 80rem; margin: 0 auto; }
    main:focus { outline: none; }
    h1 { font-size: 1.4rem; margin: .2rem 0 .6rem; }
    h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
    a { color: var(--accent); }
    :focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
    .skip { position: absolute; left: -999px; }
    .skip:focus { left: .5rem; top: .5rem; background: #fff; padding: .4rem; z-index: 9; }
    .hidden { position: absolute; left: -999px; }
    .muted { color: var(--muted); }
    button { font: inherit; padding: .35rem .8rem; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); cursor: pointer; min-height: 2.2rem; }
    button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
    button:disabled { opacity: .5; cursor: default; }
    .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0; }
    .notice { margin: .5rem 1rem; padding: .6rem .8rem; border-radius: 6px; }
    .notice.error { background: #ffebe9; border: 1px solid var(--bad); }
    .notice.info { background: #ddf4ff; border: 1px solid var(--accent); }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    .filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; margin: .5rem 0 1rem; }
    .filters input, .filters select { font: inherit; padding: .25rem; }
    .counts { display: flex; flex-wrap: wrap; gap: .4rem 1rem; list-style: none; padding: 0; margin: 0 0 .5rem; }
    .badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid currentColor; white-space: nowrap; }
    .status-succeeded, .status-reverted { color: var(--ok); }
    .status-failed, .status-revert_failed, .status-cancelled { color: var(--bad); }
    .status-running, .status-reverting, .status-rolling_back, .status-queued { color: var(--busy); }
    .status-paused, .status-skipped, .status-ignored { color: var(--warn); }
    .status-pending { color: var(--muted); }
    .step { color: var(--fg); border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 6px; padding: .45rem .6rem; margin: .35rem 0; background: var(--bg); }
    .step.status-succeeded { border-left-color: var(--ok); }
    .step.status-failed, .step.status-revert_failed { border-left-color: var(--bad); }
    .step.status-running { border-left-color: var(--busy); }
    .step.status-reverting { border-left-color: var(--warn); background: #fff8c5; }
    .step.status-reverted { border-left-color: var(--warn); background: var(--panel); }
    .step-meta, .step-state { font-size: .85rem; color: var(--muted); overflow-wrap: anywhere; }
    .step-error { font-size: .85rem; color: var(--bad); white-space: pre-wrap; overflow-wrap: anywhere; }
    .sequence { list-style: none; padding-left: 0; margin: 0; }
    .branches { display: flex; gap: .6rem; align-items: flex-start; overflow-x: auto; padding: .3rem 0; }
    .branches > * { flex: 1 1 12rem; min-width: 12rem; }
    .level { border: 1px dashed var(--line); border-radius: 6px; padding: .3rem; }
    .level-head { font-size: .8rem; color: var(--muted); }
    .compensation { padding-left: 1.4rem; }
    .compensation li { margin: .2rem 0; }
    .comp { color: var(--fg); margin-right: .6rem; }
    .comp.active { background: #fff8c5; font-weight: 700; padding: 0 .3rem; border-radius: 4px; }
    .compensating h2 { color: var(--warn); }
    .waiting { color: var(--warn); font-weight: 600; }
    .feed { list-style: none; padding: 0; font-size: .85rem; max-height: 16rem; overflow-y: auto; border: 1px solid var(--line); border-radius: 6px; }
    .feed li { padding: .15rem .5rem; border-bottom: 1px solid var(--panel); }
    .feed time { color: var(--muted); font-variant-numeric: tabular-nums; }
    .log { background: #0d1117; color: #e6edf3; padding: .8rem; border-radius: 6px; max-height: 70vh; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
    .log-head { color: #7ee787; }
    dialog { border: 1px solid var(--line); border-radius: 8px; max-width: min(40rem, 95vw); }
    dialog::backdrop { background: rgba(0,0,0,.35); }
    .targets { border: 1px solid var(--line); border-radius: 6px; max-height: 50vh; overflow-y: auto; }
    .target.refused label { color: var(--muted); }
    .reason { font-size: .8rem; color: var(--muted); margin: 0 0 .4rem 1.6rem; }
    .plugin { border-top: 1px solid var(--line); }
    .plugin pre { background: var(--panel); padding: .5rem; overflow: auto; }
    .refusal { max-width: 40rem; }
    @media (max-width: 40rem) {
      .branches { flex-direction: column; }
      .branches > * { flex: none; min-width: 0; width: 100%; }
      th:nth-child(4), td:nth-child(4) { display: none; }
    }
    """#
}
