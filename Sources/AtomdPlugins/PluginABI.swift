import CAtomdPlugin

/// The constants of `atomd_plugin.h` that Swift cannot import (the magic is
/// built with a function-like macro).
public enum PluginABI {
    public static let major = Int(ATOMD_ABI_MAJOR)
    public static let minor = Int(ATOMD_ABI_MINOR)
    /// "ATOMDPLG" read as a little-endian integer: `ATOMD_PLUGIN_MAGIC`.
    public static let magic: UInt64 = 0x474C_5044_444D_4F54
    public static let entrySymbol = "atomd_plugin_entry_v1"

    /// Plugin and atom names: what `uses: PLUGIN.ATOM` can spell.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F || $0 == 0x2D }
    }
}
