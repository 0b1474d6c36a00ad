import Foundation

/// Locations in the checkout, found from this source file so tests run the
/// same from any working directory.
enum Paths {
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let exampleJobs = repository.appendingPathComponent("etc/jobs")
    static let schema = repository.appendingPathComponent("etc/schema/job.schema.json")
    static let invalidFixtures = repository.appendingPathComponent("Tests/AtomdSpecTests/Fixtures/invalid")

    static func yamlFiles(in directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { directory.appendingPathComponent($0) }
    }
}
