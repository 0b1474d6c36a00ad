import AtomdPlugins
import AtomdSpec

/// The text form of `atomd plugins`.
enum PluginPrinter {
    static func summary(_ listing: PluginListing) {
        guard let descriptor = listing.descriptor else {
            Output.line("\(listing.name)  NOT LOADED  \(listing.path)")
            if let error = listing.error { Output.line("  error: \(error.message)" + (error.hint.map { " (\($0))" } ?? "")) }
            return
        }
        Output.line("\(descriptor.name) \(descriptor.version)  \(listing.isolation.rawValue)  ABI \(descriptor.abiMajor).\(descriptor.abiMinor)  \(listing.path)")
        if !descriptor.summary.isEmpty { Output.line("  \(descriptor.summary)") }
        for atom in descriptor.atoms {
            Output.line("  \(descriptor.name).\(atom.name)\(flags(atom))  \(atom.summary)")
        }
    }

    static func details(_ listing: PluginListing) {
        summary(listing)
        if let sha256 = listing.sha256 { Output.line("  sha256 \(sha256)") }
        guard let descriptor = listing.descriptor else { return }
        for atom in descriptor.atoms {
            Output.line()
            Output.line("\(descriptor.name).\(atom.name)\(flags(atom))")
            if !atom.summary.isEmpty { Output.line("  \(atom.summary)") }
            Output.line("  input schema:")
            let schema = atom.inputSchema.flatMap { try? Output.prettyJSON($0) } ?? "(none given)"
            for line in schema.split(separator: "\n", omittingEmptySubsequences: false) { Output.line("    \(line)") }
        }
    }

    private static func flags(_ atom: AtomDescriptor) -> String {
        let parts = (atom.canRevert ? ["revert"] : []) + (atom.canCheck ? ["check"] : [])
        return parts.isEmpty ? "" : " [" + parts.joined(separator: ", ") + "]"
    }
}

