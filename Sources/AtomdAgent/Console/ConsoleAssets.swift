/// The console's page, script and style, shipped inside the binary: no
/// build step, no CDN, works offline. The script builds every element with
/// textContent, never HTML from data, and the CSP forbids inline scripts.
enum ConsoleAssets {
    static let page = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>atomd console</title>
    <link rel="stylesheet" href="/console.css">
    <script src="/console.js" defer></script>
    </head>
    <body>
    <a class="skip" href="#main">Skip to content</a>
    <header>
      <span class="brand">atomd</span>
      <nav aria-label="Console">
        <a href="#/runs" data-nav="runs">Runs</a>
        <a href="#/queue" data-nav="queue">Queue</a>
        <a href="#/plugins" data-nav="plugins">Plugins</a>
        <a href="#/health" data-nav="health">Health</a>
      </nav>
      <span id="who" class="who"></span>
      <button type="button" id="signout">Sign out</button>
    </header>
    <div id="notice" role="alert" class="notice" hidden></div>
    <main id="main" tabindex="-1"><p>Loading…</p></main>
    <dialog id="confirm" aria-labelledby="confirm-title">
      <form method="dialog">
        <h2 id="confirm-title"></h2>
        <div id="confirm-body"></div>
        <p class="actions">
          <button type="submit" value="cancel" id="confirm-no">Keep as it is</button>
          <button type="submit" value="ok" id="confirm-yes" class="primary"></button>
        </p>
      </form>
    </dialog>
    </body>
    </html>
    """#

    /// The page a browser sees when it is refused (401, 403): what happened
    /// and what to do; `message` may carry a header's text, so it is escaped.
    static func refusalPage(title: String, message: String, hint: String?) -> String {
        let hint = hint.map { "<p>\(escaped($0))</p>" } ?? ""
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
            <title>\(escaped(title)) — atomd</title><link rel="stylesheet" href="/console.css"></head>\
            <body><main class="refusal"><h1>\(escaped(title))</h1><p>\(escaped(message))</p>\(hint)</main></body></html>
            """
    }

    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
