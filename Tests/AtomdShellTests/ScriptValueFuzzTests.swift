import AtomdSpec
import AtomdTestSupport
import Foundation
import Testing

/// The scanner's promise checked against bash itself: scripts with a value
/// in many contexts (quoted every way, nested in compound commands) run
/// under bash with hostile values, and every script bash turned into code
/// must be one `validate` refuses.
@Suite("Values in scripts against bash", .timeLimit(.minutes(5)))
struct ScriptValueFuzzTests {
    /// Contexts with `V` where the value goes. Chosen for the places bash
    /// evaluates text and the places a script commonly puts a value.
    static let contexts: [String] = [
        // Data to the shell and to the command.
        "echo V", "printf '%s\\n' V", "printf V", "x=V; echo \"$x\"", "export x=V", "readonly x=V", "declare x=V",
        "f() { local x=V; echo \"$x\"; }; f", "[ V = abc ]", "[ -n V ]", "test V -eq 1", "[ V -gt 0 ]", "[[ V == abc ]]",
        "[[ -n V ]]", "[[ V =~ ^a ]]", "[[ V < b ]]", "case V in abc) echo;; esac", "case x in V) echo;; esac",
        "for i in V; do echo \"$i\"; done", "cat <<EOF\nV\nEOF", "cat > out.txt <<EOF\nline V\nEOF", "grep -q x <<< V",
        "echo \"${x:-V}\"", "echo ${x:-V}", "echo \"${x#V}\"", "echo \"${x/V/y}\"", "echo V > out.txt", "echo hi > V",
        "ls -d V", "sed 's/a/b/' V", "python3 -c 'import sys; print(sys.argv[1])' V", "bash -c 'echo \"$1\"' _ V",
        "awk '{print}' V", "exit V", "kill -0 V", "f() { echo \"$1\"; }; f V", "x=V; echo \"${#x}\"", "arr=(V); echo \"${arr[0]}\"",
        "echo \"$(echo V)\"", "y=$(printf '%s' V); echo \"$y\"", "# comment V", "ls -- V", "echo V | grep -q a",
        "echo V | sha256sum", "if [ V = a ]; then echo; fi", "echo V && echo done", "( echo V )", "{ echo V; }",
        "x=V; y=$x; echo \"$y\"", "x=V; echo \"${x:0:1}\"", "printf '%d' V", "umask V", "ulimit -n V", "shift V",
        "echo $'V'", "echo \"a\"V\"b\"", "x=${V:-a}", "cat <<-EOF\n\tV\n\tEOF", "echo <(echo V)", "wait V",
        // Places bash or the command evaluates.
        "eval V", "eval \"echo V\"", "bash -c V", "bash -c \"echo V\"", "sh -c 'echo V'", "cat <<EOF | bash\nV\nEOF",
        "a[V]=1", "s=abc; echo ${s:V}", "[[ V -eq 0 ]]", "echo $[V]", "let x=V", "declare -i n=V", "declare -i n; n=V",
        "python3 -c \"print('V')\"", "echo $((V))", "(( V > 0 ))", "x=V; echo $((x))", "x=V; [[ x -eq 1 ]]",
        "x=V; eval \"$x\"", "source <(echo V)", "trap \"echo V\" EXIT", "printf -v V x", "read V <<< x", "[ -v V ]",
        "x=V; echo \"${!x}\"", "PS4=V; set -x; :", "perl -e \"print q(V)\"", "sed \"s/a/V/\" /dev/null",
        "awk \"BEGIN{print \\\"V\\\"}\"", "echo V | bash", "echo V | sh", "echo \"echo V\" | bash", "V", "V arg",
        "$(echo V)", "x=V; $x", "declare -n r=V; echo $r", "echo `echo V`", "compgen -W V", "cat <<'EOF' | bash\nV\nEOF",
        "python3 <<EOF\nprint('V')\nEOF", "find . -maxdepth 0 -exec sh -c V \\;", "env sh -c V", "timeout 5 sh -c V",
        "tee >(bash) <<< V >/dev/null", "mapfile V < /dev/null", "unset V", "x=V; echo \"${x@P}\"",
        "for ((i=0;i<V;i++)); do :; done", "arr=([V]=1)", "echo ${arr[V]}", "wait -p V", "x=V; y=$x; eval \"$y\"",
        "x=V; let y=x+1", "x=V; a[x]=1", "x=V; echo ${s:x}", "x=V; declare -i x", "bash <<< V", "bash <<< \"echo V\"",
        "echo V | xargs sh -c", "sh -c \"$(echo V)\"", "eval \"$(echo V)\"", "x=$(echo V); eval \"$x\"",
        "python3 - <<< \"print('V')\"", "sed -e \"s/a/V/\" /dev/null", "f() { eval \"$1\"; }; f V",
        "echo V | while read -r l; do eval \"$l\"; done", "alias a=V", "x=V; (( x > 0 ))", "[ V V ]", "test -R V",
        "printf -v y '%s' V; eval \"$y\"", "cat <<EOF\n$(V)\nEOF", "echo $(( 1 + ${x:-V} ))",
        // What the attack review of the first version found.
        "bash <<EOF\ntrue\\\nEOF\necho V\nEOF", "x=$(cat <<EOF\nhi\nEOF)\nsh -c V\nEOF", "sh < <(echo V)",
        "read -r x < <(echo V); sh -c \"$x\"", "echo V | (sh)", "echo V > >(sh); wait", "x=V; declare -i n; n=x",
        "x=V; declare -a a; [[ -v a[x] ]] || true", "x=V; printf -v \"a[x]\" %s y", "x=V; read -r \"a[x]\" <<< foo",
        "x=V; a=(1 2); unset \"a[x]\"", "x=V; test -v 'a[x]'", "f() { for a; do sh -c \"$a\"; done; }; f V",
        "/usr/bin/time sh -c V", "prlimit --nofile=100 sh -c V", "setarch x86_64 sh -c V", "rbash -c V",
        "git -c \"alias.x=!V\" x", "tar -cf /dev/null --checkpoint=1 --checkpoint-action=\"exec=V\" /etc/hostname",
        "perl -n -e 'print' V", "hash -p /bin/bash cat; cat <<EOF\nV\nEOF", "shopt -s expand_aliases; alias cat=bash\ncat <<EOF\nV\nEOF",
        "cat() { bash; }; cat <<EOF\nV\nEOF",
        // What the second attack review found.
        "true; \\\n  eval V", "x=1 \\\n  eval V", "sh <<X\ncase a in\nX) ;;\nesac\necho V\nX",
        "echo V >/dev/null; eval \"$_\"", "if [[ V =~ ^(.*)$ ]]; then echo $(( BASH_REMATCH[1] + 1 )); fi",
        ": \"${y:=V}\"; eval \"$y\"", "set -- V; getopts x: o; eval \"$OPTARG\"", "declare -n r=x; x=V; eval \"$r\"",
        "x=V; declare -i y=x", "x=V; a=([x]=1)", "f=-i; declare $f n=V", "printf V hello", "printf -vV '%s' hello",
        "sleep 0 & wait -n V", "( echo V ) | sh", "{ echo V; } | sh", "if true; then echo V; fi | sh",
        "for i in 1; do echo V; done | sh", "! { echo V; } | bash", "x=V; f() { echo \"$x\"; }; f | sh",
        "exec 3> >(sh); echo V >&3; exec 3>&-; wait $!", "exec > >(sh); echo V; exec >&-; wait $!",
        "coproc sh; echo V >&\"${COPROC[1]}\"; exec {COPROC[1]}>&-; wait", "sh /dev/stdin <<EOF\nV\nEOF",
        "bash /proc/self/fd/0 <<< V", "python3 /dev/stdin <<EOF\nV\nEOF", "awk -f /dev/stdin <<EOF\nV\nEOF",
        "sed -f /dev/stdin /etc/hostname <<EOF\nV\nEOF", "BASH_CMDS[cat]=/bin/sh; cat <<EOF\nV\nEOF",
        "shopt -s expand_aliases; BASH_ALIASES[echo]=eval; echo V", "a=(1); declare a=V",
        "f(){ local -a list; local list=V; }; f", "sed 's/a/b/' /etc/hostname V",
        // What the third attack review found.
        "echo $(( ${y#\\)\\)} + V ))", "echo $(( ${y#\"))\"} + V ))", "(( ${y#\\)\\)} + V ))",
        "a=(1); echo \"${a[${y#\\]\\]} + V]}\"", "x=abc; echo \"${x:${y#\\}\\}} + V}\"",
        "x=V; n=x; y=${!n}; eval \"$y\"", "x=V; declare -n 'r=x'; eval \"$r\"", "x=V; eval 'y=$x'; eval \"$y\"",
        "cmd=V; eval \"$(declare -p cmd | cut -d'\"' -f2)\"", "mkdir -p -- V; cd -- V; bash -c \"echo building in $PWD\"",
        "command_not_found_handle() { echo \"missing: $1\"; eval \"$2\"; }; no-such-tool V",
        "printf -v PS4 %s V; set -x; true", "for PS4 in V; do set -x; true; done", "n=V; trap 'echo $(( n + 1 ))' EXIT",
        "bash -c 'echo $(( $1 + 1 ))' _ V", "{bash,-c} V", "{eval,} V", "/usr/bin/[b]ash -c V",
        "eval 'cat() { bash; }'; cat <<END\nV\nEND", "printf 'grep() { bash; }\\n' > lib.sh; . ./lib.sh; echo V | grep x",
        "printf -v 'BASH_CMDS[cat]' %s /bin/bash; cat <<END\nV\nEND", "echo data > in.txt; split --filter V in.txt",
        "echo d > f.txt; tar -cf out.tar --use-compress-prog V f.txt", "echo d > f.txt; tar -cI V -f out.tar f.txt",
        "echo d > f.txt; tar -cf out.tar --checkpoint=1 --checkpoint-act=exec=V f.txt", "export MAKEFLAGS=V; make -f /dev/null",
        "tmp=$(mktemp); trap 'rm -f \"$tmp\"' EXIT; echo V > \"$tmp\"",
    ]

    /// What the value is replaced by around `V`.
    static let quotings = ["V", "\"V\"", "'V'", "\"a V b\""]

    /// Compound commands a context (at `@@`) is nested in.
    static let wrappers = [
        "if true; then @@\nfi", "f() {\n@@\n}; f", "( @@ )", "echo \"$( @@ )\"", "@@ | cat", "true && @@",
        "{ @@\n}", "case a in a) @@;; esac", "while true; do @@\nbreak; done", "x=$(@@\n)",
    ]

    /// The issue's ten contexts and the interpreter inside a script: all
    /// refused, and each must really run code under bash (or the harness
    /// proves nothing).
    static let knownEvaluating: [String] = [
        "bash -c \"echo V\"", "eval V", "sh -c 'echo V'", "cat <<EOF | bash\nV\nEOF", "a[V]=1", "s=abc; echo ${s:V}",
        "[[ V -eq 0 ]]", "echo $[V]", "let x=V", "declare -i n=V", "python3 -c \"print('V')\"",
    ]

    static func payloads(marker: String) -> [String] {
        [
            "$(touch \(marker))", "`touch \(marker)`", "a[$(touch \(marker))]", ";touch \(marker)", "'; touch \(marker); '",
            "\"; touch \(marker); \"", "touch \(marker)", "/;e touch \(marker) #", "\"); system(\"touch \(marker)\"); (\"",
            "'); import os; os.system('touch \(marker)'); print('", "__import__('os').system('touch \(marker)')",
            "); system(\"touch \(marker)\"); (", "x'$(touch \(marker))'", "\ntouch \(marker)\n", "$(touch${IFS}\(marker))",
            "a[$(touch \(marker))]+1", "-v", "touch \(marker)|", "-xtouch \(marker)", "BEGIN{system(\"touch \(marker)\")}",
            "1e touch \(marker)", "($(touch \(marker)))", "-e1e touch \(marker)", "-va[$(touch \(marker))]",
            "-pa[$(touch \(marker))]", "--open-files-in-pager=touch \(marker)", "x$(touch \(marker))",
        ]
    }

    static func template(_ script: String) throws -> Template {
        var parts: [Template.Part] = []
        let location = SourceLocation(line: 1, column: 1)
        for (index, piece) in script.components(separatedBy: "V").enumerated() {
            if index > 0 {
                parts.append(.expression(Expression(source: "vars.v", root: try ExpressionParser.parse("vars.v"), location: location)))
            }
            if !piece.isEmpty { parts.append(.literal(piece)) }
        }
        return Template(parts: parts, location: location)
    }

    /// The script as the agent hands it to bash, or nil when refused.
    static func rendered(_ script: String) throws -> (text: String, refused: Bool, optionPosition: Bool) {
        let template = try template(script)
        let places = ScriptClassifier.places(of: template)
        var text = ""
        var index = 0
        for part in template.parts {
            switch part {
            case .literal(let literal): text += literal
            case .expression:
                text += places[index].reference(to: "ATOMD_VALUE_1")
                index += 1
            }
        }
        return (text, places.contains { $0.refusal != nil }, places.contains(where: \.optionPosition))
    }

    /// Runs each script under bash once per payload; the pairs (script,
    /// payload) that made bash touch the marker.
    static func codeRuns(_ scripts: [(text: String, refused: Bool, optionPosition: Bool)]) throws -> Set<[Int]> {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("work"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let payloads = payloads(marker: directory.appendingPathComponent("pwned").path)
        try Data(payloads.joined(separator: "\0").appending("\0").utf8).write(to: directory.appendingPathComponent("payloads"))
        for (index, script) in scripts.enumerated() {
            try Data(script.text.utf8).write(to: directory.appendingPathComponent("\(index).sh"))
            // The agent refuses a value starting with '-' where it would be an option.
            if script.optionPosition { try Data().write(to: directory.appendingPathComponent("\(index).opt")) }
        }
        // Two drivers side by side, each with its own marker: the scripts
        // are many and bash is quick.
        let driver = """
            cd "$1/work" || exit 1
            i=$2
            while [ -e "$1/$i.sh" ]; do
              n=0
              while IFS= read -r -d '' p; do
                p=${p//pwned/pwned-$2}
                if [ -e "$1/$i.opt" ] && [ "${p#-}" != "$p" ]; then n=$((n+1)); continue; fi
                rm -f "$1/pwned-$2"
                ATOMD_VALUE_1="$p" timeout -s KILL 5 bash "$1/$i.sh" </dev/null >/dev/null 2>&1
                [ -e "$1/pwned-$2" ] && printf '%s %s\\n' "$i" "$n" >> "$1/hits-$2"
                n=$((n+1))
              done < "$1/payloads"
              i=$((i+2))
            done
            """
        let drivers = try (0..<2).map { shard in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", driver, "driver", directory.path, String(shard)]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in drivers { process.waitUntilExit() }
        var runs: Set<[Int]> = []
        for shard in 0..<2 {
            let hits = (try? String(contentsOf: directory.appendingPathComponent("hits-\(shard)"), encoding: .utf8)) ?? ""
            runs.formUnion(hits.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int($0) } })
        }
        return runs
    }

    /// Every context in every quoting, and a seeded sample nested in compound commands.
    static func scripts() -> [String] {
        var scripts: [String] = []
        for context in contexts {
            for quoting in quotings {
                scripts.append(context.replacingOccurrences(of: "V", with: quoting))
            }
        }
        var generator = SeededGenerator(seed: 0x5C21_F7)
        for context in contexts {
            for _ in 0..<1 {
                var script = context.replacingOccurrences(of: "V", with: quotings.randomElement(using: &generator) ?? "V")
                for _ in 0..<2 {
                    script = (wrappers.randomElement(using: &generator) ?? "@@").replacingOccurrences(of: "@@", with: script)
                }
                scripts.append(script)
            }
        }
        return scripts
    }

    @Test("no script bash turns into code is accepted")
    func acceptedScriptsStayData() throws {
        let candidates = try Self.scripts().map { ($0, try Self.rendered($0)) }
        let accepted = candidates.filter { !$0.1.refused }
        let runs = try Self.codeRuns(accepted.map(\.1))
        let escaped = Set(runs.map { $0[0] }).sorted().map { accepted[$0].0 }
        #expect(escaped.isEmpty, "accepted by validate, yet bash ran the value as code: \(escaped)")
        // The allowlist must leave the common forms usable.
        #expect(accepted.count * 4 > candidates.count, "only \(accepted.count) of \(candidates.count) scripts accepted")
    }

    @Test("the contexts that evaluate are refused, and bash does run code in each")
    func evaluatingContextsAreRefused() throws {
        let scripts = try Self.knownEvaluating.map { try Self.rendered($0) }
        for (context, script) in zip(Self.knownEvaluating, scripts) {
            #expect(script.refused, "validate accepted \(context)")
        }
        // Rendered as if accepted, so that bash shows what a value would do there.
        let runs = try Self.codeRuns(scripts.map { ($0.text, false, false) })
        for (index, context) in Self.knownEvaluating.enumerated() {
            #expect(runs.contains { $0[0] == index }, "no payload ran code in \(context): the harness cannot see an escape")
        }
    }

    /// The values' own variables (`ATOMD_VALUE_1`) are the values: a script
    /// that reads one is refused whole.
    @Test func aScriptThatReadsTheValuesVariablesIsRefused() throws {
        let location = SourceLocation(line: 1, column: 1)
        let template = Template(parts: [.literal("echo "),
                                        .expression(Expression(source: "vars.v", root: try ExpressionParser.parse("vars.v"), location: location)),
                                        .literal("; eval \"$ATOMD_VALUE_1\"")], location: location)
        #expect(ScriptClassifier.places(of: template).first?.refusal != nil)
    }

    /// A cleanup trap that reads no value keeps the script usable.
    @Test func aTrapThatReadsNoValueIsAccepted() throws {
        let places = ScriptClassifier.places(of: try Self.template("tmp=$(mktemp); trap 'rm -f \"$tmp\"' EXIT; echo V > \"$tmp\""))
        #expect(places.allSatisfy { $0.refusal == nil }, "\(places.compactMap(\.refusal?.message))")
    }

    /// Nesting deep enough to exhaust the scanner's stack is refused, not a crash.
    @Test func deepNestingIsRefusedWithoutCrashing() throws {
        for (open, close) in [("echo $(", ")"), ("echo ${x:-", "}"), ("echo \"$(", ")\"")] {
            let script = String(repeating: open, count: 3000) + "V" + String(repeating: close, count: 3000)
            let places = ScriptClassifier.places(of: try Self.template(script))
            #expect(places.first?.refusal?.message.contains("nest more than 100 deep") == true)
        }
    }

    /// Values passed along a long chain of variables, written newest first,
    /// are followed in one pass, not one pass per link (the scanner must not
    /// be a way to stall validation).
    @Test func aLongChainOfVariablesIsFollowedQuickly() throws {
        let links = (1...20_000).reversed().map { "x\($0)=$x\($0 - 1)" }.joined(separator: "\n")
        let script = links + "\nx0=V\neval \"$x20000\""
        let places = ScriptClassifier.places(of: try Self.template(script))
        #expect(places.first?.refusal != nil)
    }

    @Test("common scripts are accepted", arguments: [
        "echo V", "curl -fsS -H \"Authorization: Bearer V\" https://example.test/", "x=V", "export REGION=V",
        "[ \"V\" = prod ] && echo yes", "case V in a|b) echo;; esac", "cat > /tmp/conf <<EOF\nname = V\nEOF",
        "python3 ./deploy.py --name V", "./deploy.sh V", "helm upgrade --install app ./chart --set image.tag=V", "if [ -n V ]; then echo; fi",
        "for host in V; do echo \"$host\"; done", "echo \"${1:-V}\"", "sed 's/x/y/' V", "printf '%s' V | sha256sum",
    ])
    func commonScriptsAccepted(script: String) throws {
        let places = ScriptClassifier.places(of: try Self.template(script))
        #expect(places.allSatisfy { $0.refusal == nil }, "\(places.compactMap(\.refusal?.message))")
    }
}
