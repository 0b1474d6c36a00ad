/// Which names in `incoming/` are jobs. Everything else is a producer's
/// work in progress or an editor's leftover, and is not touched.
public enum SpoolNames {
    /// True for `NAME.yaml` and `NAME.yml`; false for dotfiles, `*.tmp`,
    /// `*~`, and anything else.
    public static func isJob(_ name: String) -> Bool {
        guard !name.hasPrefix("."), !name.hasSuffix("~"), !name.hasSuffix(".tmp"), !name.contains("/") else { return false }
        let stem = name.hasSuffix(".yaml") ? name.dropLast(5) : name.hasSuffix(".yml") ? name.dropLast(4) : ""
        return !stem.isEmpty
    }
}
