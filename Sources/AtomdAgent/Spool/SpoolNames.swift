/// Which names in `incoming/` are jobs. Everything else is a producer's
/// work in progress or an editor's leftover, and is not touched.
public enum SpoolNames {
    /// True for `NAME.yaml` and `NAME.yml`; false for dotfiles, `*.tmp`,
    /// `*~`, and anything else.
    /// Checked byte by byte, not by Swift's Unicode-aware comparisons: a
    /// NUL would cut the name the file system sees, and a control character
    /// (a line break) would forge lines in logs.
    public static func isJob(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.first != UInt8(ascii: "."),
              !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") })
        else { return false }
        for suffix in [".yaml", ".yml"] where bytes.count > suffix.utf8.count && bytes.suffix(suffix.utf8.count).elementsEqual(suffix.utf8) {
            return true
        }
        return false
    }
}
