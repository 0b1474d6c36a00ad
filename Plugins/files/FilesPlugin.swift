import AtomdPluginKit

/// The `files` plugin: file changes that compensation can undo.
@_cdecl("atomd_plugin_entry_v1")
public func atomdPluginEntry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    Plugin(name: "files", version: "1.0.0", summary: "write, link, extract and remove files, each undoable",
           atoms: [WriteFile.self, SwitchSymlink.self, ExtractArchive.self, RemoveFile.self]).export()
}
