/// What atomd knows about the commands of a script, to decide whether an
/// argument or an input is data to them. Anything a list here does not name
/// as safe is treated as able to evaluate: the lists are what is allowed.
enum ScriptCommands {
    /// Words that start or end a compound command; the command proper follows.
    static let reserved: Set<String> = ["!", "{", "}", "if", "then", "elif", "else", "fi", "while", "until", "do", "done", "time", "esac"]

    /// Every bash builtin: one not in `dataBuiltins` may evaluate its arguments
    /// (eval, source, trap, let, read into a computed name, compgen -W, …).
    static let builtins: Set<String> = [
        "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen", "complete", "compopt",
        "continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit", "export", "false", "fc",
        "fg", "getopts", "hash", "help", "history", "jobs", "kill", "let", "local", "logout", "mapfile", "popd",
        "printf", "pushd", "pwd", "read", "readarray", "readonly", "return", "set", "shift", "shopt", "source",
        "suspend", "test", "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
        ".", ":", "[", "coproc", "select", "function",
    ]

    /// Builtins that take their arguments as text or numbers without
    /// evaluating them (checked against bash by the scanner's fuzz test);
    /// `printf -v`, `wait -p` and test's `-v` are handled on their own.
    static let dataBuiltins: Set<String> = [
        "echo", "printf", "cd", "pushd", "popd", "pwd", "dirs", "true", "false", ":", "test", "[", "type",
        "exit", "return", "shift", "kill", "wait", "ulimit", "umask", "set",
    ]

    /// `local`, `export` and the like: their arguments are assignments.
    static let declarations: Set<String> = ["local", "export", "readonly", "declare", "typeset"]

    /// Programs whose first operand (or the text after -c, -e, …) is a program.
    static let interpreters: Set<String> = [
        "sh", "bash", "dash", "zsh", "ksh", "mksh", "yash", "fish", "csh", "tcsh", "busybox",
        "python", "pypy", "perl", "ruby", "irb", "node", "nodejs", "deno", "bun", "php", "lua", "luajit",
        "tclsh", "wish", "expect", "Rscript", "R", "julia", "pwsh", "osascript", "java", "groovy",
        "awk", "gawk", "mawk", "nawk", "sed", "gsed", "m4", "bc", "dc", "make",
    ]

    /// Shells: their `-c` program takes the arguments after it as $1, $2 ….
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "yash", "fish", "csh", "tcsh", "busybox", "rbash"]

    /// Options after which an interpreter's next argument is its program.
    static let programOptions: Set<String> = ["-c", "-e", "-E", "-f", "-m", "-r", "--eval", "--command", "--exec", "--file", "--expression"]

    /// Programs that run their arguments as a command, a remote shell line,
    /// a query language or an editor script.
    static let wrappers: Set<String> = [
        "env", "sudo", "doas", "su", "runuser", "setpriv", "pkexec", "sg", "newgrp", "nohup", "timeout", "nice",
        "ionice", "stdbuf", "setsid", "chroot", "unshare", "nsenter", "chrt", "taskset", "numactl", "watch",
        "flock", "script", "strace", "ltrace", "valgrind", "systemd-run", "machinectl", "xargs", "find",
        "parallel", "tmux", "screen", "at", "batch", "ssh", "scp", "rsync", "docker", "podman", "kubectl",
        "nerdctl", "ctr", "crictl", "lxc", "lxc-attach", "schroot", "fakeroot", "proot", "firejail", "bwrap",
        "sqlite3", "psql", "mysql", "mariadb", "redis-cli", "mongo", "mongosh", "gdb", "vim", "vi", "nvim", "ex",
        "ed", "emacs", "less", "more", "man", "time", "prlimit", "setarch", "linux32", "linux64", "i386", "x86_64",
        "choom", "uclampset", "rbash", "perl", "cgexec", "capsh", "faketime", "catchsegv", "torsocks", "proxychains",
        "unbuffer", "caffeinate", "systemd-inhibit", "dbus-run-session", "xvfb-run", "expect", "tclsh", "make", "sftp",
    ]

    /// The dynamic loader runs the program it is given, under any name.
    static func isWrapperFamily(_ name: String) -> Bool {
        name.hasPrefix("ld-linux") || name.hasPrefix("ld.so")
    }

    /// Options of ordinary programs whose value the program runs.
    static let codeOptions: [String: [String]] = [
        "git": ["-c", "--config-env", "--upload-pack", "--receive-pack", "--exec", "-u", "-x", "--extcmd", "--exec-path",
                "--template", "--tool"],
        "split": ["--filter"],
        "tar": ["--checkpoint-action", "--to-command", "--use-compress-program", "-I", "--info-script", "-F",
                "--new-volume-script", "--rsh-command", "--rmt-command"],
        "rsync": ["-e", "--rsh", "--rsync-path"],
        "sort": ["--compress-program"],
        "zip": ["-TT", "--unzip-command"],
    ]

    /// Programs that treat what they read on standard input as data, so a
    /// value may reach them through a heredoc, a here-string or a pipe.
    static let dataReaders: Set<String> = [
        "cat", "tee", "grep", "egrep", "fgrep", "wc", "head", "tail", "sort", "uniq", "tr", "cut", "paste",
        "base64", "base32", "sha1sum", "sha256sum", "sha512sum", "md5sum", "jq", "od", "xxd", "gzip", "gunzip",
        "xz", "zstd", "diff", "cmp", "tac", "rev", "fold", "column", "iconv", "dd", "curl", "logger",
    ]

    /// A command word without its directory.
    static func name(_ word: String) -> String {
        String(word.split(separator: "/").last ?? Substring(word))
    }

    /// Whether `name` is an interpreter, whatever its version (`python3.11`).
    static func isInterpreter(_ name: String) -> Bool {
        interpreters.contains(String(name.reversed().drop { $0.isNumber || $0 == "." }.reversed()))
    }

    /// Variables that decide what runs: a value assigned to one of them
    /// chooses a program, a library, a prompt that bash expands, or options
    /// another program obeys.
    static func decidesExecution(_ variable: String) -> Bool {
        let exact: Set<String> = ["PATH", "ENV", "BASH_ENV", "PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND",
                                  "SHELLOPTS", "BASHOPTS", "EDITOR", "VISUAL", "PAGER", "BROWSER", "SHELL",
                                  "LESSOPEN", "LESSCLOSE", "PERL5LIB", "PERLLIB", "RUBYLIB", "PYTHONSTARTUP",
                                  "PYTHONHOME", "GIT_SSH", "GCONV_PATH", "HOSTALIASES", "BASH_XTRACEFD"]
        return exact.contains(variable) || variable.hasPrefix("LD_") || variable.hasPrefix("BASH_FUNC") || variable.hasPrefix("GIT_")
            || variable.hasSuffix("PATH") || variable.hasSuffix("OPT") || variable.hasSuffix("OPTS")
            || variable.contains("OPTIONS") || variable.hasSuffix("_COMMAND") || variable.hasSuffix("_CMD")
            || variable.hasSuffix("ASKPASS") || variable.hasSuffix("PAGER") || variable.hasSuffix("EDITOR")
            || variable.hasSuffix("FLAGS")
    }
}
